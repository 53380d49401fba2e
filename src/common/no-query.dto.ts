/**
 * The query of a route that takes no parameters: with RequestValidationPipe it
 * turns any parameter into a 400 naming it, as the contract asks, instead of
 * silently ignoring it.
 */
export class NoQuery {}
