// The agent's availability switch in the top bar: Online (Parley offers them waiting
// conversations) or Away (it does not; they still join from the queue). It shows what the server
// last said of this agent in the `agents` frame, and nothing before that frame arrives (a user
// whose account cannot take chats never gets one).

import { live } from "./live";
import { strings } from "./strings";
import { useLive } from "./ui";

const t = strings.nav;

export function AvailabilitySwitch() {
  useLive();
  const me = live.self();
  if (!me) return null;
  const hint = !me.assigning ? t.noOffersHint : me.availability === "away" ? t.awayHint : undefined;
  return (
    <fieldset class={`availability ${me.availability}`} title={hint} disabled={live.link !== "live"}>
      <legend class="visually-hidden">{t.availability}</legend>
      {(["online", "away"] as const).map((status) => (
        <label key={status} class={status}>
          <input
            type="radio"
            name="availability"
            value={status}
            checked={me.availability === status}
            onChange={() => live.setAvailability(status)}
          />
          {status === "online" ? t.online : t.away}
        </label>
      ))}
    </fieldset>
  );
}
