import { request } from '@/http/request'

/** Demo-only endpoints (wallet/apis_demo.py; 404 in production). */
/** schema: DemoTerminalApiOutput */
export interface DemoTerminal {
  fixmedins_code: string
  fixmedins_name: string
  region: string
  secret: string
}

/** schema: DemoCatalogueApiOutput */
export interface CatalogueItem {
  med_list_codg: string
  name: string
  kind: string
  list_class: 'A' | 'B' | 'C' | string
  /** yuan string, or null when the item has no price cap */
  price_cap: string | null
  unit: string
  spec: string
}

export function getDemoTerminal(): Promise<DemoTerminal> {
  return request<DemoTerminal>({ url: '/api/demo/terminal', auth: false })
}

export function getDemoCatalogue(): Promise<CatalogueItem[]> {
  return request<CatalogueItem[]>({ url: '/api/demo/catalogue', auth: false })
}
