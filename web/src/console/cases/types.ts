/** The API's case shapes (cityops.cases.schemas), as the console reads them. */

export type CaseStatus =
  | 'reported' | 'registered' | 'rejected' | 'merged' | 'dispatched' | 'in_progress' | 'returned' | 'handled'
  | 'closed'

export type CaseAction =
  | 'register' | 'reject' | 'merge' | 'unmerge' | 'dispatch' | 'acknowledge' | 'return' | 'reassign' | 'report'
  | 'verify' | 'close' | 'reopen' | 'request_extension' | 'approve_extension' | 'deny_extension' | 'defer'
  | 'resume' | 'summon' | 'report_in'

export interface CaseSummary {
  id: number
  tracking_code: string
  channel: string
  status: CaseStatus
  version: number
  title: string
  category_code: string | null
  area_code: string | null
  lon: number | null
  lat: number | null
  near_boundary: boolean
  placeholder: string | null
  priority: number
  report_count: number
  rework_count: number
  return_count: number
  deferred: boolean
  opened_at: string
  closed_at: string | null
}

export interface CaseInQueue extends CaseSummary {
  step: string | null
  step_due_at: string | null
  overdue: boolean
}

export interface CasePage {
  items: CaseInQueue[]
  next_cursor: string | null
}

export interface Assignment {
  department_code: string
  role: string
  position: number
  status: string
}

export interface Deadline {
  step: string
  time_limit: string
  started_at: string
  due_at: string
  remind_at: string
  original_due_at: string | null
  overdue_at: string | null
  /** when the step ended, however it ended (ended) */
  met_at: string | null
  /** how the step ended: its work done, the case returned to the centre (the other parts withdrawn), a deferral */
  ended: 'met' | 'returned' | 'deferred' | null
  /** a summons' report-in: the summoned department */
  department_code: string | null
  /** the dispatch the step belongs to (1, then 2 after a reassignment); null before any */
  round: number | null
  /** that dispatch's lead department */
  lead: string | null
  /** a step a return ended: the department that returned, and those whose parts it withdrew */
  returned_by: string | null
  withdrawn: string[]
}

export interface DuplicateSuggestion {
  candidate_id: number
  tracking_code: string
  title: string
  status: CaseStatus
  score: number
  distance_m: number
  minutes: number
  text_similarity: number
  same_category: boolean
  merged: boolean
}

export interface MergedReport {
  id: number
  tracking_code: string
  channel: string
  title: string
  reporter_name: string | null
  reporter_phone: string | null
  opened_at: string
  merged_into: number
}

export interface TimelineEvent {
  version: number
  action: string
  from_status: CaseStatus | null
  to_status: CaseStatus
  actor_kind: string
  actor_role: string
  /** as recorded: a user's login name, for audit */
  actor_name: string
  /** the name to show: a user's current display name (the recorded name when the user is gone) */
  actor_display_name: string
  actor_department: string | null
  at: string
  reason: string | null
  attachments: string[]
  data: Record<string, unknown>
  /** a merge: the case it merged into; an unmerge: the case it was taken out of */
  primary_case: CaseRef | null
}

/** Another case an entry names: its id for the link, its tracking code to show. */
export interface CaseRef {
  id: number
  tracking_code: string
}

export interface CaseDetail extends CaseSummary {
  description: string
  address: string | null
  reporter_name: string | null
  reporter_phone: string | null
  assignments: Assignment[]
  deadlines: Deadline[]
  duplicates: DuplicateSuggestion[]
  duplicate_of: number | null
  duplicate_of_tracking_code: string | null
  follows: number | null
  follows_tracking_code: string | null
  merged_reports: MergedReport[]
  timeline: TimelineEvent[]
  /** the actions the signed-in user may take on the case now, as the API judges it */
  available_actions: CaseAction[]
}

/** What POST /api/v1/cases/{id}/actions/{action} takes. */
export interface ActionInput {
  reason?: string
  data?: Record<string, unknown>
  attachments?: string[]
  department_code?: string
}
