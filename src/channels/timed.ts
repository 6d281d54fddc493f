/**
 * Times each provider call of a MessageSender (wrapped inside the circuit breaker, so a call the
 * breaker or the bulkhead turns away is not a provider call). Extra methods and `send` arguments
 * pass through unchanged.
 */
import type { MessageSender, OutboundMessage, ProviderAcceptance } from '../domain/delivery.js';

export function withCallTiming<S extends MessageSender>(sender: S, observe: (seconds: number, outcome: 'accepted' | 'error') => void): S {
  const send = async (message: OutboundMessage, ...rest: unknown[]): Promise<ProviderAcceptance> => {
    const started = performance.now();
    try {
      const acceptance = await (sender.send as (m: OutboundMessage, ...r: unknown[]) => Promise<ProviderAcceptance>).call(sender, message, ...rest);
      observe((performance.now() - started) / 1000, 'accepted');
      return acceptance;
    } catch (error) {
      observe((performance.now() - started) / 1000, 'error');
      throw error;
    }
  };
  return { ...sender, send } as S;
}
