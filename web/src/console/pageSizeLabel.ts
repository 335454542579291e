// Element Plus's pagination draws its page-size select with no label and no way to give it one: this
// directive, on the el-pagination, names the select's input, e.g.
// <el-pagination v-page-size-label="t('console.warnings.pageSize')" layout="total, sizes, prev, pager, next" />
import type { Directive, DirectiveBinding } from 'vue'

function name(element: HTMLElement, binding: DirectiveBinding<string>): void {
  element.querySelector('.el-pagination__sizes input')?.setAttribute('aria-label', binding.value)
}

export const vPageSizeLabel: Directive<HTMLElement, string> = { mounted: name, updated: name }
