/**
 * Library code in simulators/ takes an optional pino logger and stays quiet by default (tests
 * import it); the CLI passes a real one.
 */
import { pino, type Logger } from 'pino';

export const silentLogger: Logger = pino({ level: 'silent' });
