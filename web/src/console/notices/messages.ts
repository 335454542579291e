/** The notifications' words: the bell in the header and its drawer. */

import { addMessages } from '../messages'

addMessages({
  'zh-CN': {
    console: {
      notices: {
        bell: '消息（{n} 条未读）',
        title: '消息',
        list: '最新消息',
        unread: '未读',
        openCase: '打开案件 {code}',
        readAll: '全部标为已读',
        unreadCount: '{n} 条未读',
        older: '更早的消息',
        empty: '没有消息',
        loading: '加载中…',
        reason: '；原因：{reason}',
      },
    },
  },
  en: {
    console: {
      notices: {
        bell: 'Notifications ({n} unread)',
        title: 'Notifications',
        list: 'Latest notifications',
        unread: 'Unread',
        openCase: 'Open case {code}',
        readAll: 'Mark all read',
        unreadCount: '{n} unread',
        older: 'Older notifications',
        empty: 'No notifications',
        loading: 'Loading…',
        reason: '; reason: {reason}',
      },
    },
  },
})
