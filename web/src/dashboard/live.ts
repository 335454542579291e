/** The live stream (GET /api/v1/stream) as server-sent events. The bearer token goes in a header, which
 * the browser's EventSource cannot send, hence fetch-event-source; after a dropped connection or the
 * server's periodic close it reconnects with the Last-Event-ID of the last event it received. */

import { fetchEventSource } from '@microsoft/fetch-event-source'

export interface Counts {
  reported_today: number
  dispatched: number
  in_progress: number
  overdue: number
  warnings_active: number
}

export interface WarningEvent {
  warning_id: number
  version: number
  action: string
  rule: string
  rule_name: string
  origin_name: string | null
  metric: string | null
  unit: string | null
  status: string
  level: string
  value: number | null
  area_code: string
  updated_at: string
  case_id: number | null
}

export interface IndicatorEvent {
  event_id: number
  indicator: string
  area: string
  at: string
  value: number
  unit: string
}

/** A case taken in or moved: one event per intake or action. */
export interface CaseEvent {
  case_id: number
  tracking_code: string
  version: number
  title: string
  status: string
  action: string
  area_code: string
  opened_at: string
  at: string
}

export interface LiveHandlers {
  counts(counts: Counts): void
  warning(event: WarningEvent): void
  indicator(event: IndicatorEvent): void
  case(event: CaseEvent): void
  /** Too far behind to catch up from the stream: reload what is shown. */
  resync(): void
  connected(connected: boolean): void
  /** The token was refused: reconnecting would not help. */
  refused(): void
}

class StreamEnded extends Error {}
class StreamRefused extends Error {}

/** Listen from just after event ``after`` (the ``last_event_id`` of the stream's JSON page, read before
 * the lists the stream keeps up to date), so that nothing between the two is missed. */
export function openLiveStream(headers: Record<string, string>, after: number, handlers: LiveHandlers): () => void {
  const stop = new AbortController()
  void fetchEventSource('/api/v1/stream', {
    // fetch-event-source replaces this header (under this very name) with each event's id as events arrive
    headers: { ...headers, Accept: 'text/event-stream', 'last-event-id': String(after) },
    signal: stop.signal,
    // a wall screen is often in a background tab of its kiosk: keep listening
    openWhenHidden: true,
    async onopen(response) {
      if (response.status === 401 || response.status === 403) throw new StreamRefused()
      if (!response.ok) throw new Error(`stream answered ${response.status}`)
      handlers.connected(true)
    },
    onmessage(message) {
      if (!message.data) return
      const data = JSON.parse(message.data)
      if (message.event === 'counts') handlers.counts(data)
      else if (message.event === 'warning') handlers.warning(data)
      else if (message.event === 'indicator') handlers.indicator(data)
      else if (message.event === 'case') handlers.case(data)
      else if (message.event === 'resync') handlers.resync()
    },
    onclose() {
      // the server ends each stream after a while so that the token is checked again: resume
      throw new StreamEnded()
    },
    onerror(error) {
      handlers.connected(false)
      if (error instanceof StreamRefused) {
        handlers.refused()
        throw error
      }
      // undefined: retry after the server's retry hint, with the Last-Event-ID header set
    },
  }).catch(() => undefined)
  return () => stop.abort()
}
