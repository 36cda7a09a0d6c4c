import { request } from '@/http/request'

/** Demo-only endpoints (demo/apis.py; 404 in production). */
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

/** schema: DemoPharmacyListApiOutput */
export interface DemoPharmacy {
  fixmedins_code: string
  fixmedins_name: string
  region: string
  region_name: string
}

/** A demo pharmacy's credentials: the one named by `fixmedins_code`, else the first. */
export function getDemoTerminal(fixmedinsCode?: string): Promise<DemoTerminal> {
  const query = fixmedinsCode ? `?fixmedins_code=${encodeURIComponent(fixmedinsCode)}` : ''
  return request<DemoTerminal>({ url: `/api/demo/terminal${query}`, auth: false })
}

/** The demo pharmacies by city (a person pays locally only in their own province). */
export function getDemoPharmacies(): Promise<DemoPharmacy[]> {
  return request<DemoPharmacy[]>({ url: '/api/demo/pharmacies', auth: false })
}

export function getDemoCatalogue(): Promise<CatalogueItem[]> {
  return request<CatalogueItem[]>({ url: '/api/demo/catalogue', auth: false })
}
