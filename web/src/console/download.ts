/** Files from the API (a spreadsheet, a CSV export) saved through the browser: fetched with the bearer
 * token, which a plain link cannot carry, then handed over as a blob. */

import { ApiError, problemOf } from '../shared/api'
import { authorization, signOut } from '../shared/session'

/** The file name the answer's Content-Disposition gives. */
function fileName(response: Response): string {
  const disposition = response.headers.get('Content-Disposition') ?? ''
  return /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? 'download'
}

function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.append(link)
  link.click()
  link.remove()
  // the browser has taken the file once the click is handled
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

/** GET `path` as the signed-in user and save the answer as a file named `name` (by default the name the
 * API gives it); an error answer becomes an ApiError. Returns the name it was saved as. */
export async function downloadFile(path: string, name?: string): Promise<string> {
  const response = await fetch(path, { headers: authorization() })
  if (!response.ok) {
    if (response.status === 401) signOut()
    throw (await problemOf(response)).error
  }
  const saved = name ?? fileName(response)
  saveBlob(await response.blob(), saved)
  return saved
}

/** POST a file as multipart form data (an import) as the signed-in user. */
export async function uploadFile<T>(path: string, file: File): Promise<T> {
  const form = new FormData()
  form.append('file', file)
  const response = await fetch(path, { method: 'POST', headers: { Accept: 'application/json', ...authorization() },
    body: form })
  if (!response.ok) {
    if (response.status === 401) signOut()
    const { error, body } = await problemOf(response)
    throw new ImportRefused(error, Array.isArray(body.rows) ? body.rows : [])
  }
  return (await response.json()) as T
}

export interface RowProblem {
  row: number
  field: string
  reason: string
}

/** An import refused as a whole, with every bad row the API named. */
export class ImportRefused extends ApiError {
  constructor(refusal: ApiError, readonly rows: RowProblem[]) {
    super(refusal.status, refusal.code, refusal.detail, refusal.field, refusal.validation)
  }
}
