/**
 * The domain rules a store applies inside a step commit (store.ts StepRules): how a notification ends
 * (final-state.ts), what feedback does to an installation (registry/feedback.ts) and the event a
 * state change records (events/model.ts).
 */
import { expireChannel } from '../registry/feedback.ts';
import type { StepRules } from '../store/store.ts';
import { finalState } from './final-state.ts';
import { stateChanged } from '../events/model.ts';

export const STEP_RULES: StepRules = { finalState, expireChannel, stateChanged };
