// Account names that read alike: "ADMIN" and "admin" are one name to a reader of the
// audit log or the console, so a second account differing only in case is refused
// (operators among operators, integrators among integrators).

export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
