/** What the areas, departments, users and rules administration pages share: their common words, the API's
 * problems shown next to the field they name, and times written the same way everywhere. */

import { reactive } from 'vue'

import { ApiError } from '../../shared/api'
import { problemText } from '../../shared/problems'
import { emptyFields, type RequiredFields } from '../../shared/required'
import { get } from '../../shared/session'
import { addMessages } from '../messages'

addMessages({
  'zh-CN': {
    console: {
      orgAdmin: {
        level: { city: '市', district: '区', street: '街镇', grid: '网格', community: '社区' },
        unitLevel: { city: '市级', district: '区级', street: '街镇级' },
        create: '新建',
        save: '保存',
        cancel: '取消',
        edit: '编辑',
        view: '查看',
        close: '关闭',
        refresh: '刷新',
        yes: '是',
        no: '否',
        all: '全部',
        none: '无',
        code: '编码',
        name: '名称',
        area: '区域',
        actions: '操作',
        created: '已创建：{name}',
        saved: '已保存：{name}',
        empty: '暂无数据',
        total: '共 {n} 条',
      },
    },
  },
  en: {
    console: {
      orgAdmin: {
        level: { city: 'City', district: 'District', street: 'Street / town', grid: 'Grid', community: 'Community' },
        unitLevel: { city: 'City level', district: 'District level', street: 'Street level' },
        create: 'Create',
        save: 'Save',
        cancel: 'Cancel',
        edit: 'Edit',
        view: 'View',
        close: 'Close',
        refresh: 'Refresh',
        yes: 'Yes',
        no: 'No',
        all: 'All',
        none: 'None',
        code: 'Code',
        name: 'Name',
        area: 'Area',
        actions: 'Actions',
        created: 'Created: {name}',
        saved: 'Saved: {name}',
        empty: 'Nothing yet',
        total: '{n} in all',
      },
    },
  },
})

export { problemText }

/**
 * A form's problems: the API's message next to the field it names (``fields[name]``, announced as an
 * alert by the form item), anything else in ``general``. ``fieldOf`` maps the API's field (``roles.0``,
 * ``levels[1].clear_at``) to the form's, or returns undefined when the form has no such field.
 * ``filled`` asks for each required field left empty (请填写…) before anything is sent.
 */
export function useProblems(fieldOf: (field: string) => string | undefined) {
  const state = reactive({
    fields: {} as Record<string, string>,
    general: '',
    clear(): void {
      state.fields = {}
      state.general = ''
    },
    show(error: unknown): void {
      state.clear()
      const field = error instanceof ApiError && error.field ? fieldOf(error.field) : undefined
      if (field && error instanceof ApiError) {
        // Element Plus announces a form item's error itself (role="alert")
        state.fields[field] = error.message
      } else {
        state.general = problemText(error)
      }
    },
    /** Whether every field of ``required`` is filled in; if not, each empty one asks for itself. */
    filled(required: RequiredFields): boolean {
      state.clear()
      state.fields = emptyFields(required) as Record<string, string>
      return Object.keys(state.fields).length === 0
    },
  })
  return state
}

/** A form field among ``known`` named by the API's field: itself, or the field it is an item of (``roles.0``). */
export function knownField(known: readonly string[]): (field: string) => string | undefined {
  return (field) => {
    const plain = field.replace(/^body\./, '')
    if (known.includes(plain)) return plain
    const head = plain.split(/[.[]/)[0]
    return known.includes(head) ? head : undefined
  }
}

export interface AreaOut {
  code: string
  name: string
  level: string
  parent_code: string | null
  synthetic: boolean
  center: [number, number]
  bbox: [number, number, number, number]
}

export const LEVELS = ['city', 'district', 'street', 'grid', 'community'] as const
export const UNIT_LEVELS = ['city', 'district', 'street'] as const

export interface DepartmentOut {
  code: string
  name: string
  level: string
  kind: string
  area_code: string
  is_area_fallback: boolean
  active: boolean
}

/** The areas of ``levels`` in the signed-in user's jurisdiction, widest first. */
export async function loadAreas(levels: readonly string[]): Promise<AreaOut[]> {
  const pages = await Promise.all(levels.map((level) =>
    get<{ items: AreaOut[] }>(`/api/v1/areas?${new URLSearchParams({ level, limit: '5000' })}`)))
  return pages.flatMap((page) => page.items)
}

/** ``code``'s chain of codes upwards as far as ``areas`` know it (itself first). */
export function chainOf(code: string, areas: Map<string, AreaOut>): string[] {
  const chain = [code]
  let area = areas.get(code)
  while (area?.parent_code) {
    chain.push(area.parent_code)
    area = areas.get(area.parent_code)
  }
  return chain
}

/** An area's name with its code, or the code alone when its name is not known here. */
export function areaLabel(code: string | null | undefined, areas: Map<string, AreaOut>): string {
  if (!code) return ''
  const area = areas.get(code)
  return area ? `${area.name}（${code}）` : code
}
