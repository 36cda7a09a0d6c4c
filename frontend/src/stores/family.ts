import { defineStore } from 'pinia'
import { ref } from 'vue'
import { listBinders, listRelatives, type BinderView, type Binding } from '@/api/family'
import { toApiError, type ApiError } from '@/http/errors'

/**
 * 亲情账户 as the app knows it: the relatives I bound (binder side) and the
 * people who bound me (relative side). The list page, the detail pages and
 * the code page's person switcher read it; every page reloads it on show
 * (a binding ended elsewhere must leave the view at once).
 */
export const useFamilyStore = defineStore('family', () => {
  const relatives = ref<Binding[]>([])
  const relativesError = ref<ApiError | null>(null)
  const relativesLoading = ref(false)
  const binders = ref<BinderView[]>([])
  const bindersError = ref<ApiError | null>(null)

  async function loadRelatives(): Promise<void> {
    relativesLoading.value = true
    relativesError.value = null
    try {
      relatives.value = await listRelatives()
    } catch (err) {
      relativesError.value = toApiError(err)
    } finally {
      relativesLoading.value = false
    }
  }

  async function loadBinders(): Promise<void> {
    bindersError.value = null
    try {
      binders.value = await listBinders()
    } catch (err) {
      bindersError.value = toApiError(err)
    }
  }

  /** Replace (or add) one binding after a write answered it; an ended one leaves the list. */
  function put(binding: Binding): void {
    const rest = relatives.value.filter((b) => b.id !== binding.id)
    relatives.value = binding.status === 'ended' ? rest : [...rest, binding]
  }

  function reset(): void {
    relatives.value = []
    binders.value = []
    relativesError.value = null
    bindersError.value = null
  }

  return { relatives, relativesError, relativesLoading, binders, bindersError, loadRelatives, loadBinders, put, reset }
})
