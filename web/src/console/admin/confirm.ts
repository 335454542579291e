/** Asking before an administrator's action that takes something away (a user's sign-in, a day's setting). */
import { ElMessageBox } from 'element-plus'
import 'element-plus/es/components/message-box/style/css'

/** Whether the administrator confirmed; closing the box or cancelling is a no. */
export async function confirmed(question: { title: string; message: string; confirm: string; cancel: string }):
  Promise<boolean> {
  try {
    await ElMessageBox.confirm(question.message, question.title, {
      type: 'warning', confirmButtonText: question.confirm, cancelButtonText: question.cancel,
      confirmButtonClass: 'el-button--danger', closeOnClickModal: false,
    })
    return true
  } catch {
    return false
  }
}
