/**
 * The domain rules a store applies inside a step commit (store.ts StepRules): how a notification ends
 * (final-state.ts) and what feedback does to an installation (registry/feedback.ts).
 */
import { expireChannel } from '../registry/feedback.ts';
import type { StepRules } from '../store/store.ts';
import { finalState } from './final-state.ts';

export const STEP_RULES: StepRules = { finalState, expireChannel };
