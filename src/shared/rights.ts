/** The three SAS claims of Azure Notification Hubs (wire spec §2.4). */
export const RIGHTS = ['Listen', 'Send', 'Manage'] as const;
export type Right = (typeof RIGHTS)[number];

export function isRight(value: string): value is Right {
  return (RIGHTS as readonly string[]).includes(value);
}

/**
 * Manage implies Listen and Send (the Service Bus convention; UNCONFIRMED for Notification Hubs,
 * decided here so that the DefaultFullSharedAccessSignature rule can do everything).
 */
export function grants(rights: readonly Right[], needed: Right): boolean {
  return rights.includes(needed) || rights.includes('Manage');
}
