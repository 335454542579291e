import './citizen.css'

import { createApp } from 'vue'
import { createRouter, createWebHistory } from 'vue-router'

import { i18n } from '../shared/i18n'
import App from './App.vue'

const router = createRouter({
  history: createWebHistory('/citizen/'),
  routes: [
    { path: '/', name: 'report', component: () => import('./ReportView.vue') },
    { path: '/track/:code?', name: 'follow', component: () => import('./FollowView.vue'), props: true },
  ],
})

createApp(App).use(i18n).use(router).mount('#app')
