/**
 * Where a request came from, for the audit trail's `origin`: the X-Forwarded-For chain (Next's server fills it with
 * the socket's address when no proxy did; behind a proxy the proxy appends to it), else X-Real-IP. Only hops shaped
 * like IPv4 or IPv6 addresses are kept, the last 5, so a forged header cannot write text into the trail.
 */
const MAX_HOPS = 5;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?$/;
const IPV6 = /^\[?[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f.]{0,15}){2,8}(%[A-Za-z0-9_.-]{1,16})?\]?(:\d{1,5})?$/;
const isAddress = (hop: string): boolean => hop.length <= 64 && (IPV4.test(hop) || IPV6.test(hop));

export function clientAddress(request: Request): string | null {
  const chain = request.headers.get("x-forwarded-for") ?? request.headers.get("x-real-ip");
  if (!chain) return null;
  const hops = chain
    .split(",")
    .map((hop) => hop.trim())
    .filter(isAddress)
    .slice(-MAX_HOPS);
  return hops.length > 0 ? hops.join(", ") : null;
}
