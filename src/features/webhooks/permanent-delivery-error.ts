/** A delivery that can never succeed (its payload lacks what the rule needs): failed at once, not retried. */
export class PermanentDeliveryError extends Error {
  override name = "PermanentDeliveryError";
}
