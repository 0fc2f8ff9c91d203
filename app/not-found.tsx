import { NotYetAvailable } from "./not-yet-available";

export default function NotFound() {
  return (
    <NotYetAvailable title="Page not found">
      <p>There is no page at this address.</p>
    </NotYetAvailable>
  );
}
