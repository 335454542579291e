/** The inbox's words: the work queues, filters and the list. */

import { addMessages } from '../messages'

addMessages({
  'zh-CN': {
    console: {
      queues: {
        title: '待办',
        tabs: '工作队列',
        queue: {
          to_register: '待立案', to_dispatch: '待派遣', to_acknowledge: '待签收', to_handle: '待处置',
          to_verify: '待核查', overdue: '已超期', supervised: '督办中', all: '全部案件', summoned: '待报到',
          department: '本部门案件',
        },
        priority: {
          normal: '普通', level1: '较高', level2: '高', level3: '紧急',
          raised: '{level}（{n} 次上报）',
        },
        filters: '筛选',
        status: '状态',
        anyStatus: '全部状态',
        channel: '渠道',
        anyChannel: '全部渠道',
        search: '搜索',
        searchPlaceholder: '标题或描述中的词，如：井盖',
        searchButton: '搜索',
        clear: '清除筛选',
        sort: '排序',
        order: {
          newest: '最新受理', oldest: '等待最久', deadline: '时限最近', priority: '优先级最高', reports: '上报最多',
        },
        caption: '{queue}：已显示 {n} 件',
        captionMore: '{queue}：已显示 {n} 件，还有更多',
        col: {
          code: '案件编号', title: '标题', status: '状态', step: '当前环节', due: '环节时限', priority: '优先级',
          reports: '上报', opened: '受理时间',
        },
        overdue: '已超期',
        noDeadline: '—',
        empty: '这里没有案件',
        unknownQueue: '没有名为“{queue}”的工作队列，请从上方选择一个队列',
        more: '加载更多',
        loading: '加载中…',
        open: '打开案件 {code}',
      },
    },
  },
  en: {
    console: {
      queues: {
        title: 'Inbox',
        tabs: 'Work queues',
        queue: {
          to_register: 'To register', to_dispatch: 'To dispatch', to_acknowledge: 'To acknowledge',
          to_handle: 'To handle', to_verify: 'To verify', overdue: 'Overdue', supervised: 'Supervised',
          all: 'All cases', summoned: 'To report in', department: "Department's cases",
        },
        priority: {
          normal: 'Normal', level1: 'Raised', level2: 'High', level3: 'Urgent',
          raised: '{level} ({n} reports)',
        },
        filters: 'Filters',
        status: 'Status',
        anyStatus: 'Any status',
        channel: 'Channel',
        anyChannel: 'Any channel',
        search: 'Search',
        searchPlaceholder: 'Words in the title or description',
        searchButton: 'Search',
        clear: 'Clear filters',
        sort: 'Sort',
        order: {
          newest: 'Newest first', oldest: 'Waiting longest', deadline: 'Deadline soonest', priority: 'Highest priority',
          reports: 'Most reports',
        },
        caption: '{queue}: {n} shown',
        captionMore: '{queue}: {n} shown, more to load',
        col: {
          code: 'Tracking code', title: 'Title', status: 'Status', step: 'Step', due: 'Step due', priority: 'Priority',
          reports: 'Reports', opened: 'Opened',
        },
        overdue: 'Overdue',
        noDeadline: '—',
        empty: 'No cases here',
        unknownQueue: 'There is no work queue called “{queue}”: choose one above',
        more: 'Load more',
        loading: 'Loading…',
        open: 'Open case {code}',
      },
    },
  },
})
