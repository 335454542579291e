import 'element-plus/theme-chalk/base.css'
import './console.css'

import { createApp } from 'vue'
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'

import { i18n } from '../shared/i18n'
import App from './App.vue'
import { NAVIGATION } from './navigation'

// Each part of the console is its own bundle, loaded when first visited.
const routes: RouteRecordRaw[] = [
  { path: '/', redirect: { name: 'inbox' } },
  { path: '/inbox/:queue?', name: 'inbox', component: () => import('./inbox/InboxView.vue'), props: true },
  { path: '/cases/:id(\\d+)', name: 'case', component: () => import('./cases/CaseView.vue'),
    props: (route) => ({ id: Number(route.params.id) }) },
  ...NAVIGATION.filter((item) => item.name !== 'inbox').map((item) => ({
    path: item.path, name: item.name, component: item.component,
  })),
  { path: '/:unknown(.*)*', redirect: { name: 'inbox' } },
]

const router = createRouter({ history: createWebHistory('/console/'), routes })

createApp(App).use(i18n).use(router).mount('#app')
