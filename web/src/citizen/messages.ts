/** The citizen page's words for the map's names and list and for the story of a followed case. */

import { i18n } from '../shared/i18n'

const messages = {
  'zh-CN': {
    citizen: {
      map: {
        list: '按区选择',
      },
      story: {
        sentTo: '已派遣至{department}',
        sentAgain: '已重新派遣至{department}',
        returned: '处置部门退回，等待重新派遣',
        sentAgainPlain: '已重新派遣至处置部门',
        sentToPlain: '已派遣至处置部门',
        handled: '已处置',
        rework: '核查未通过，重新处置',
        result: '处置结果',
        photo: '处置照片 {n}',
      },
    },
  },
  en: {
    citizen: {
      map: {
        list: 'Choose a district',
      },
      story: {
        sentTo: 'Sent to {department}',
        sentAgain: 'Sent again to {department}',
        returned: 'Returned by the department, waiting to be sent again',
        sentAgainPlain: 'Sent again to the department',
        sentToPlain: 'Sent to the department',
        handled: 'Handled',
        rework: 'Not passed at the check, being handled again',
        result: 'Result',
        photo: 'Result photo {n}',
      },
    },
  },
}

i18n.global.mergeLocaleMessage('zh-CN', messages['zh-CN'] as never)
i18n.global.mergeLocaleMessage('en', messages.en as never)
