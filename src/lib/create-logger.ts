import pino, { type Logger } from "pino";

/** The one pino logger (Probot's logger library); children carry request ids and components. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ name: "entourage", level }, destination ?? pino.destination({ dest: 2, sync: true }));
}
