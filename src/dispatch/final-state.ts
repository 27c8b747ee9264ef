/** The state a notification ends in once no job of it is left (wire spec §9 states; design.md "Complete"). */
export type OutcomeCounts = Record<string, Record<string, number>>;

/**
 * NoTargetFound when planning found no target; Abandoned when every counted outcome is an abandoned
 * message (undelivered after the retry window); Completed otherwise. Pure: the store applies it in the
 * step commit that leaves no job of the notification.
 */
export function finalState(n: { targets: number; counts: OutcomeCounts }): 'NoTargetFound' | 'Abandoned' | 'Completed' {
  if (n.targets === 0) return 'NoTargetFound';
  let total = 0;
  let abandoned = 0;
  for (const outcomes of Object.values(n.counts)) {
    for (const [name, count] of Object.entries(outcomes)) {
      total += count;
      if (name === 'AbandonedNotificationMessages') abandoned += count;
    }
  }
  return total > 0 && abandoned === total ? 'Abandoned' : 'Completed';
}
