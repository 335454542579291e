/** Attachments of a case, read with the signed-in user's token (an <img src> cannot send one): each
 * fetched once as a blob and shown through an object URL for as long as the console is open. */

import { problemOf } from '../../shared/api'
import { authorization } from '../../shared/session'

export interface LoadedPhoto {
  url: string
  /** the stored media type: image/… or video/… */
  type: string
}

const loaded = new Map<string, Promise<LoadedPhoto>>()

async function fetchPhoto(sha256: string): Promise<LoadedPhoto> {
  const response = await fetch(`/api/v1/attachments/${encodeURIComponent(sha256)}`, { headers: authorization() })
  if (!response.ok) throw (await problemOf(response)).error
  const blob = await response.blob()
  return { url: URL.createObjectURL(blob), type: blob.type }
}

export function loadPhoto(sha256: string): Promise<LoadedPhoto> {
  let found = loaded.get(sha256)
  if (!found) {
    found = fetchPhoto(sha256)
    // a failed fetch is tried again next time it is shown
    found.catch(() => loaded.delete(sha256))
    loaded.set(sha256, found)
  }
  return found
}
