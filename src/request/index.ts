export {
  type Authoriser,
  BasicAuthoriser,
  type BasicAuthoriserOptions,
  BearerAuthoriser,
  type BearerAuthoriserOptions,
} from "./authoriser.js";
export { type Clock, MAX_TIMER_DELAY, systemClock } from "./clock.js";
export type { RetryEvent, WaitEvent } from "./events.js";
export {
  IDEMPOTENT_METHODS,
  METHODS,
  type Method,
  RequestHandler,
  type RequestHandlerInit,
  type RequestHandlerOptions,
  type RequestOptions,
} from "./handler.js";
export { OAuth2ClientCredentials, type OAuth2ClientCredentialsOptions } from "./oauth2.js";
export { type RetryDelay, retryDelay } from "./retry-after.js";
export {
  ClientErrorStatusHandler,
  DEFAULT_MAX_WAIT,
  defaultStatusHandlers,
  RateLimitStatusHandler,
  type RateLimitStatusHandlerOptions,
  ServerErrorStatusHandler,
  type StatusAction,
  type StatusContext,
  type StatusHandler,
  statusRange,
  UnauthorisedStatusHandler,
} from "./status.js";
export {
  CeilingTimer,
  type CeilingTimerOptions,
  CountTimer,
  type CountTimerOptions,
  GeometricCeilingTimer,
  type GeometricCeilingTimerOptions,
  GeometricCountTimer,
  type GeometricCountTimerOptions,
  MAX_INCREASES,
  PowerCeilingTimer,
  type PowerCeilingTimerOptions,
  PowerCountTimer,
  type PowerCountTimerOptions,
  StepCeilingTimer,
  type StepCeilingTimerOptions,
  StepCountTimer,
  type StepCountTimerOptions,
  Timer,
  type TimerOptions,
} from "./timer.js";
