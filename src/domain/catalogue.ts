/**
 * The IAM action catalogue: every known `service:Action` name, used to expand wildcard entries of the
 * restricted-actions list. It is an interface so the domain stays free of file I/O; the compact
 * catalogue generated at build time is loaded by `loadGeneratedCatalogue` in `catalogue-data.ts`.
 */
export interface ActionCatalogue {
  /** Known service prefixes, lower case. */
  services(): readonly string[];
  /** Canonical action names (e.g. `DeleteBucket`) of a service, or `undefined` for an unknown service. */
  actionsOf(service: string): readonly string[] | undefined;
}

/** Compact serialised form: service prefix (lower case) → action names in canonical case. */
export interface CatalogueData {
  readonly source: string;
  readonly generatedFrom: string;
  readonly services: Readonly<Record<string, readonly string[]>>;
}

/** Builds an {@link ActionCatalogue} over compact catalogue data. */
export function catalogueFromData(data: CatalogueData): ActionCatalogue {
  const byService = new Map<string, readonly string[]>();
  for (const [service, actions] of Object.entries(data.services))
    byService.set(service.toLowerCase(), actions);
  const services = [...byService.keys()].sort();
  return {
    services: () => services,
    actionsOf: (service) => byService.get(service.toLowerCase()),
  };
}
