/**
 * 收费明细: the demo catalogue (searchable by name / code) and the bill's
 * lines; amounts in integer fen (utils/bill.ts). The bill is `locked` while
 * a settlement runs or after it; every change drops the pre-settlement.
 */
import { computed, ref, type Ref } from 'vue'
import { getDemoCatalogue, type CatalogueItem } from '@/api/demo'
import { billInput, billTotals, type BillLine } from '@/utils/bill'
import { inputValue } from '@/utils/format'
import { fenToYuan } from '@/utils/money'
import { errText } from './context'

const DEFAULT_PRICE = '10.00'
const CLASS_LABELS: Record<string, string> = { A: '甲类', B: '乙类', C: '丙类' }

export function classLabel(listClass: string): string {
  return CLASS_LABELS[listClass] ?? listClass
}

export function useBill(opts: { locked: Ref<boolean>; changed?: () => void }) {
  const catalogue = ref<CatalogueItem[]>([])
  const catalogueError = ref('')
  const search = ref('')
  const lines = ref<BillLine[]>([])

  async function loadCatalogue(): Promise<void> {
    if (catalogue.value.length) return
    try {
      catalogue.value = await getDemoCatalogue()
    } catch (err) {
      catalogueError.value = `目录加载失败：${errText(err)}`
    }
  }

  const matches = computed(() => {
    const q = search.value.trim().toLowerCase()
    const list = q
      ? catalogue.value.filter((c) => c.name.toLowerCase().includes(q) || c.med_list_codg.toLowerCase().includes(q))
      : catalogue.value
    return list.slice(0, 12)
  })

  function addItem(item: CatalogueItem): void {
    if (opts.locked.value) return
    const existing = lines.value.find((l) => l.med_list_codg === item.med_list_codg)
    if (existing) {
      existing.quantity = String((Number(existing.quantity) || 0) + 1)
    } else {
      lines.value.push({
        med_list_codg: item.med_list_codg,
        name: item.spec ? `${item.name} ${item.spec}` : item.name,
        unit: item.unit,
        list_class: item.list_class,
        price: item.price_cap ?? DEFAULT_PRICE,
        quantity: '1',
      })
    }
    opts.changed?.()
  }

  function setLine(index: number, field: 'price' | 'quantity', event: unknown): void {
    const line = lines.value[index]
    if (!line) return
    line[field] = inputValue(event).trim()
    opts.changed?.()
  }

  function removeLine(index: number): void {
    if (opts.locked.value) return
    lines.value.splice(index, 1)
    opts.changed?.()
  }

  const totals = computed(() => billTotals(lines.value))
  const totalText = computed(() => fenToYuan(totals.value.totalFen))

  /** The 2101/2102 input for this bill, or null while a line is invalid. */
  function input(ecToken: string, insutype: string): Record<string, unknown> | null {
    if (!totals.value.valid) return null
    return billInput(lines.value, { ecToken, insutype })
  }

  function clear(): void {
    lines.value = []
  }

  return { catalogue, catalogueError, search, lines, matches, totals, totalText, loadCatalogue, addItem, setLine, removeLine, input, clear }
}
