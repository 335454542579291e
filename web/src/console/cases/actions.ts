/** What each case action asks for, as the API's rules state it (cityops.cases.lifecycle TABLE,
 * cases.handling, cases.clock), and the body of POST /api/v1/cases/{id}/actions/{action} built from
 * a filled form. Which actions a user may take is the API's judgement (`available_actions`); this
 * only says what a form needs, so that a missing reason is marked before it is sent — the API checks
 * again and its answer is what is shown. */

import type { ActionInput, CaseAction } from './types'

/** A part of an action's form. */
export type ActionField =
  | 'roster' // lead department, assisting departments and the mode of joint handling
  | 'passed' // the verification's outcome
  | 'primary' // the case a duplicate is merged into
  | 'until' // the deadline asked for (required)
  | 'untilOptional' // a deadline that may be given (an approval's own, a deferral's end)
  | 'summons' // departments summoned, each with the deadline to report in
  | 'photos'
  | 'department' // the department a handler acts for, when their account names none
  | 'category' // the category a registration files the case under

export interface ActionSpec {
  /** required: the table's requires_reason; ifFailed: a failed verification's */
  reason: 'required' | 'optional' | 'ifFailed'
  fields: ActionField[]
  /** ends or refuses something: its button is marked as such */
  danger?: boolean
}

export const ACTION_SPECS: Record<CaseAction, ActionSpec> = {
  register: { reason: 'optional', fields: ['category'] },
  reject: { reason: 'required', fields: [], danger: true },
  merge: { reason: 'required', fields: ['primary'] },
  unmerge: { reason: 'required', fields: [] },
  dispatch: { reason: 'optional', fields: ['roster'] },
  acknowledge: { reason: 'optional', fields: ['department'] },
  return: { reason: 'required', fields: ['department', 'photos'], danger: true },
  reassign: { reason: 'required', fields: ['roster'] },
  report: { reason: 'required', fields: ['department', 'photos'] },
  verify: { reason: 'ifFailed', fields: ['passed', 'photos'] },
  close: { reason: 'required', fields: [] },
  reopen: { reason: 'required', fields: [] },
  request_extension: { reason: 'required', fields: ['department', 'until'] },
  approve_extension: { reason: 'optional', fields: ['untilOptional'] },
  deny_extension: { reason: 'required', fields: [], danger: true },
  defer: { reason: 'required', fields: ['untilOptional'] },
  resume: { reason: 'optional', fields: [] },
  summon: { reason: 'required', fields: ['summons'] },
  report_in: { reason: 'optional', fields: ['department'] },
}

/** The order the buttons are shown in: the case's next step first, then the side moves. */
export const ACTION_ORDER: CaseAction[] = [
  'register', 'dispatch', 'acknowledge', 'report', 'verify', 'close', 'reassign', 'approve_extension',
  'report_in', 'merge', 'unmerge', 'request_extension', 'deny_extension', 'summon', 'defer', 'resume', 'reopen',
  'return', 'reject',
]

export type JointMode = 'parallel' | 'serial'

export interface SummonsRow {
  department: string
  /** a local date and time, YYYY-MM-DDTHH:mm (the picker's value-format) */
  deadline: string
  /** the deadline the row was offered (summonsDeadline): a row still holding it names no deadline of its own */
  suggested: string
}

/** How long a summoned department is given to report in unless the form is told otherwise. The API takes no
 * default (cases.joint.summon needs each department's deadline); this offers the platform's default limit for
 * acknowledging a case (2 working hours, categories.service.PLATFORM_DEFAULT_LIMITS), in natural hours, as a
 * summons names a time of day. */
export const SUMMONS_HOURS = 2

/** A local date and time as the date-time pickers hold it: 2026-12-02T10:00. */
export function localValue(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`
}

/** The deadline a new summons row offers: SUMMONS_HOURS from `now`, up to the next whole ten minutes. */
export function summonsDeadline(now: Date = new Date()): string {
  const step = 10 * 60 * 1000
  return localValue(new Date(Math.ceil((now.getTime() + SUMMONS_HOURS * 3600 * 1000) / step) * step))
}

export function summonsRow(now: Date = new Date()): SummonsRow {
  const deadline = summonsDeadline(now)
  return { department: '', deadline, suggested: deadline }
}

export interface ActionForm {
  reason: string
  passed: boolean | null
  lead: string
  assisting: string[]
  mode: JointMode
  /** the primary case's tracking code (案件编号), as staff see and type it */
  primary: string
  /** a local date and time, YYYY-MM-DDTHH:mm (the picker's value-format) */
  until: string
  summons: SummonsRow[]
  attachments: string[]
  department: string
  /** a category code; empty keeps the case's own */
  category: string
}

export function emptyForm(): ActionForm {
  return { reason: '', passed: null, lead: '', assisting: [], mode: 'parallel', primary: '', until: '',
    summons: [summonsRow()], attachments: [], department: '', category: '' }
}

/** Why a summons row cannot be sent: a deadline without its department, a department without its
 * (complete) deadline, or a department already on an earlier row. */
export type SummonsProblem = 'noDepartment' | 'noDeadline' | 'repeated'

/** Each summons row's problem, undefined where the row may be sent. A row without a department that holds no
 * deadline of its own (none, or still the one offered) summons nobody and is left out; a half-filled one is
 * refused, since leaving it out would drop what was chosen unseen. */
export function summonsProblems(rows: SummonsRow[]): (SummonsProblem | undefined)[] {
  const summoned = new Set<string>()
  return rows.map((row) => {
    if (!row.department) return ownDeadline(row) ? 'noDepartment' : undefined
    if (summoned.has(row.department)) return 'repeated'
    summoned.add(row.department)
    return row.deadline ? undefined : 'noDeadline'
  })
}

function ownDeadline(row: SummonsRow): boolean {
  return Boolean(row.deadline) && row.deadline !== row.suggested
}

/** A field an action may not be sent without: the form asks for it before anything is sent. */
export type RequiredField = 'reason' | 'department' | 'roster' | 'passed' | 'primary' | 'until' | 'summons'

/** The fields `action` cannot be sent without, each with whether the form leaves it empty now (blanks
 * alone are empty, as the API trims a reason): the reason where the table requires one (a failed
 * verification's too, cityops.cases.lifecycle), the verdict, the case merged into, the deadline an
 * extension asks for (cases.clock), the lead department, a department summoned (cases.joint; rows filled in
 * half are summonsProblems'), and the department acted for when the signed-in user's account names none. */
export function requiredFields(action: CaseAction, form: ActionForm,
  ownDepartment: string | null): Partial<Record<RequiredField, boolean>> {
  const spec = ACTION_SPECS[action]
  const has = (field: ActionField) => spec.fields.includes(field)
  const required: Partial<Record<RequiredField, boolean>> = {}
  if (has('department') && !ownDepartment) required.department = !form.department
  if (has('roster')) required.roster = !form.lead
  if (has('passed')) required.passed = form.passed === null
  if (has('primary')) required.primary = !form.primary.trim()
  if (has('until')) required.until = !form.until
  if (has('summons')) required.summons = form.summons.every((row) => !row.department && !ownDeadline(row))
  if (spec.reason === 'required' || (spec.reason === 'ifFailed' && form.passed === false)) {
    required.reason = !form.reason.trim()
  }
  return required
}

/** The form field that shows a problem the API names by `field` (the data key or the body's). */
export const FIELD_OF_PROBLEM: Record<string, ActionField | 'reason'> = {
  reason: 'reason',
  lead: 'roster',
  assisting: 'roster',
  mode: 'roster',
  passed: 'passed',
  primary: 'primary',
  until: 'until',
  departments: 'summons',
  attachments: 'photos',
  department_code: 'department',
  category: 'category',
}

/** A local date and time (the browser's time zone) as an ISO instant, or undefined when empty. */
export function instant(local: string): string | undefined {
  if (!local) return undefined
  const at = new Date(local)
  return Number.isNaN(at.getTime()) ? local : at.toISOString()
}

/** The request body for `action` from its form; `ownDepartment` is the signed-in user's. */
export function actionBody(action: CaseAction, form: ActionForm, ownDepartment: string | null): ActionInput {
  const spec = ACTION_SPECS[action]
  const data: Record<string, unknown> = {}
  if (spec.fields.includes('roster')) {
    data.lead = form.lead
    data.assisting = form.assisting.filter((code) => code !== form.lead)
    data.mode = form.mode
  }
  if (spec.fields.includes('category') && form.category) data.category = form.category
  if (spec.fields.includes('passed')) data.passed = form.passed
  if (spec.fields.includes('primary')) data.primary = form.primary.trim().toUpperCase()
  if (spec.fields.includes('until') || (spec.fields.includes('untilOptional') && form.until)) {
    data.until = instant(form.until) ?? null
  }
  if (spec.fields.includes('summons')) {
    // rows left wholly empty; the form refuses half-filled ones before this (summonsProblems)
    data.departments = Object.fromEntries(
      form.summons.filter((row) => row.department).map((row) => [row.department, instant(row.deadline) ?? null]))
  }
  const body: ActionInput = { data }
  const reason = form.reason.trim()
  if (reason) body.reason = reason
  if (spec.fields.includes('photos') && form.attachments.length) body.attachments = [...form.attachments]
  if (spec.fields.includes('department')) {
    const department = ownDepartment ?? form.department
    if (department) body.department_code = department
  }
  return body
}
