/** The console's sections, who sees each (by role or permission, as the API allows them) and where
 * each is loaded from. The API is the judge of every call: hiding a section only spares a user pages
 * they could not use. */

import type { Component } from 'vue'

import type { Me } from '../shared/session'

type Lazy = () => Promise<Component | { default: Component }>

export interface Section {
  name: string
  path: string
  /** a key under console.nav */
  label: string
  group: 'work' | 'city' | 'admin'
  component: Lazy
  allowed: (me: Me) => boolean
}

const STAFF = ['administrator', 'operator', 'dispatcher', 'handler', 'inspector', 'leader']
const CENTRE = ['administrator', 'operator', 'dispatcher', 'leader']
const anyRole = (roles: string[]) => (me: Me) => me.roles.some((role) => roles.includes(role))
const permitted = (permission: string) => (me: Me) => me.permissions.includes(permission)

export const NAVIGATION: Section[] = [
  { name: 'inbox', path: '/inbox/:queue?', label: 'inbox', group: 'work',
    component: () => import('./inbox/InboxView.vue'), allowed: anyRole(STAFF) },
  { name: 'warnings', path: '/warnings', label: 'warnings', group: 'city',
    component: () => import('./warnings/WarningsView.vue'), allowed: anyRole(CENTRE) },
  { name: 'devices', path: '/devices', label: 'devices', group: 'city',
    component: () => import('./devices/DevicesView.vue'), allowed: anyRole(STAFF) },
  { name: 'reports', path: '/reports', label: 'reports', group: 'city',
    component: () => import('./reports/ReportsView.vue'), allowed: anyRole(CENTRE) },
  { name: 'admin-areas', path: '/admin/areas', label: 'areas', group: 'admin',
    component: () => import('./admin/AreasAdmin.vue'), allowed: permitted('manage_areas') },
  { name: 'admin-departments', path: '/admin/departments', label: 'departments', group: 'admin',
    component: () => import('./admin/DepartmentsAdmin.vue'), allowed: permitted('manage_organisation') },
  { name: 'admin-users', path: '/admin/users', label: 'users', group: 'admin',
    component: () => import('./admin/UsersAdmin.vue'), allowed: permitted('manage_users') },
  { name: 'admin-categories', path: '/admin/categories', label: 'categories', group: 'admin',
    component: () => import('./admin/CategoriesAdmin.vue'), allowed: permitted('manage_categories') },
  { name: 'admin-matrix', path: '/admin/matrix', label: 'matrix', group: 'admin',
    component: () => import('./admin/MatrixAdmin.vue'), allowed: permitted('manage_responsibility') },
  { name: 'admin-calendar', path: '/admin/calendar', label: 'calendar', group: 'admin',
    component: () => import('./admin/CalendarAdmin.vue'), allowed: permitted('manage_calendar') },
  { name: 'admin-rules', path: '/admin/rules', label: 'rules', group: 'admin',
    component: () => import('./admin/RulesAdmin.vue'), allowed: anyRole(['administrator']) },
]
