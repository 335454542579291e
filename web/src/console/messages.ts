/** Each part of the console brings its own messages (in its `messages.ts`) and adds them when it loads,
 * so the first page carries only the shell's. */

import { i18n } from '../shared/i18n'

type Tree = { [key: string]: string | Tree }
export interface Messages {
  'zh-CN': Tree
  en: Tree
}

export function addMessages(messages: Messages): void {
  i18n.global.mergeLocaleMessage('zh-CN', messages['zh-CN'] as never)
  i18n.global.mergeLocaleMessage('en', messages.en as never)
}
