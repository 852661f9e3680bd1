// The team: everyone who signs in to the console. An admin invites people (the invitation email
// then arrives), and edits each person's name, roles, grants and denies (the effective
// permissions shown live: the roles' permissions and the grants, less the denies), how many
// conversations they take, the addresses they may sign in from; disables, enables and deletes.
// Beside each person, live from the console's connection (the `agents` frame): whether they are
// online, away or offline, and how many conversations they hold (with offers open) of their most.

import { useState } from "preact/hooks";
import { BASE } from "../../api/http";
import type { Invitation, Permission, Role, User, UserUpdate } from "../../api/types";
import { fieldSentence, invalidField, sentence } from "../../errors";
import { live } from "../../live";
import { session } from "../../session";
import { strings } from "../../strings";
import {
  AdminFrame,
  AdminPending,
  Area,
  Confirm,
  Field,
  FormError,
  useAction,
  useLive,
  useLoad,
} from "../../ui";

const USERS = `${BASE.tenant}/users`;

const t = strings.admin.agents;
const { common } = strings;

interface Team {
  users: User[];
  roles: Role[];
  catalogue: Permission[];
}

async function loadTeam(): Promise<Team> {
  const [users, catalogue, roles] = await Promise.all([
    session.api<User[]>("GET", USERS),
    session.api<Permission[]>("GET", `${BASE.tenant}/permissions`),
    // Whoever manages users may read the roles they hand out (users:manage suffices).
    session.api<Role[]>("GET", `${BASE.tenant}/roles`),
  ]);
  return { users, catalogue, roles };
}

export function Agents() {
  const team = useLoad(loadTeam);
  useLive();
  const [selected, setSelected] = useState<string | null>(null);
  const [notice, setNotice] = useState("");
  if (!team.data) return <AdminPending title={t.title} intro={t.intro} failure={team.failure} />;
  const data = team.data;
  const { users, roles } = data;
  const replace = (user: User) =>
    team.set({ ...data, users: users.map((u) => (u.id === user.id ? user : u)) });
  const user = users.find((u) => u.id === selected);
  return (
    <AdminFrame title={t.title} intro={t.intro}>
      <p role="status" class="notice">
        {notice}
      </p>
      <div class="admin-columns">
        <section aria-labelledby="team-title" class="card">
          <h2 id="team-title">{t.team(users.length)}</h2>
          <table class="list">
            <thead>
              <tr>
                <th scope="col">{common.name}</th>
                <th scope="col">{t.roles}</th>
                <th scope="col">{t.status}</th>
                <th scope="col">{t.availability}</th>
                <th scope="col">
                  <span class="visually-hidden">{common.actions}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id} aria-current={u.id === selected ? "true" : undefined}>
                  <td>
                    <strong>{u.name}</strong>
                    <br />
                    <span class="muted">{u.email}</span>
                  </td>
                  <td>{roleNames(u.roleIds, roles)}</td>
                  <td>
                    <span class={`pill ${statusOf(u)}`}>{t.states[statusOf(u)]}</span>
                  </td>
                  <Presence id={u.id} />
                  <td>
                    <button
                      type="button"
                      class="small"
                      onClick={() => setSelected(u.id)}
                      aria-label={common.editNamed(u.name)}
                    >
                      {common.edit}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        {user ? (
          <UserEditor
            key={user.id}
            user={user}
            team={team.data}
            onSaved={(saved, text) => {
              replace(saved);
              setNotice(text);
            }}
            onDeleted={() => {
              setSelected(null);
              setNotice(t.deleted(user.name));
              team.set({ ...data, users: users.filter((u) => u.id !== user.id) });
            }}
            onClose={() => setSelected(null)}
          />
        ) : (
          <InviteForm
            team={team.data}
            onInvited={(invited) => {
              team.set({ ...data, users: [...users, invited] });
              setNotice(t.invited(invited.email));
            }}
          />
        )}
      </div>
    </AdminFrame>
  );
}

/**
 * An agent's availability and load ("2 / 5": conversations held, offers open, of their most), as
 * the live connection last heard;
 * a dash when it has not heard of them (an invited or disabled person).
 */
function Presence({ id }: { id: string }) {
  const agent = live.agents.find((a) => a.id === id);
  if (!agent) return <td class="muted">{t.unknownAvailability}</td>;
  return (
    <td>
      <span class={`presence ${agent.availability}`}>
        <span class={`dot ${agent.availability}`} aria-hidden="true" />
        {t.availabilities[agent.availability]}
      </span>
      <br />
      <span class="muted small-text load">
        {t.loadOf(agent.load, agent.maxConcurrent)}
        <span class="visually-hidden">{t.loadUnit}</span>
        {!agent.assigning && ` · ${t.noOffers}`}
      </span>
    </td>
  );
}

function statusOf(user: User): keyof typeof t.states {
  if (user.status === "disabled") return "disabled";
  return user.passwordSet ? "active" : "invited";
}

function roleNames(ids: string[], roles: Role[]): string {
  const names = ids.map((id) => roles.find((r) => r.id === id)?.name ?? t.unknownRole);
  return names.length ? names.join(", ") : t.noRole;
}

/** The roles, as checkboxes; `legend` names the group. */
function RolePicker(props: {
  roles: Role[];
  chosen: string[];
  onChange: (ids: string[]) => void;
  error?: string | undefined;
  idPrefix: string;
}) {
  const errorId = `${props.idPrefix}-roles-error`;
  return (
    <fieldset class="field choices" aria-describedby={props.error ? errorId : undefined}>
      <legend>{t.roles}</legend>
      {props.roles.map((role) => (
        <label key={role.id} class="check">
          <input
            type="checkbox"
            checked={props.chosen.includes(role.id)}
            onChange={(e) => {
              const on = (e.currentTarget as HTMLInputElement).checked;
              props.onChange(on ? [...props.chosen, role.id] : props.chosen.filter((id) => id !== role.id));
            }}
          />
          {role.name}
        </label>
      ))}
      {props.error && (
        <p class="field-error" id={errorId}>
          {props.error}
        </p>
      )}
    </fieldset>
  );
}

function InviteForm({ team, onInvited }: { team: Team; onInvited: (user: User) => void }) {
  const agentRole = team.roles.find((r) => r.name === "agent");
  const [roleIds, setRoleIds] = useState<string[]>(agentRole ? [agentRole.id] : []);
  const invite = useAction(async (form: HTMLFormElement) => {
    const data = new FormData(form);
    const invitation: Invitation = {
      name: String(data.get("name") ?? "").trim(),
      email: String(data.get("email") ?? "").trim(),
      roleIds,
    };
    const user = await session.api<User>("POST", USERS, invitation);
    form.reset();
    onInvited(user);
  });
  const refused = invalidField(invite.failure);
  const at = (field: string) => (refused?.field === field ? fieldSentence(refused) : undefined);
  const code = invite.failure instanceof Error ? (invite.failure as { code?: string }).code : undefined;
  const emailError = code === "email_taken" ? sentence(invite.failure, "invite") : at("email");
  const rolesError = code === "unknown_role" ? sentence(invite.failure) : at("roleIds");
  const general = invite.failure && !refused && !emailError && !rolesError ? sentence(invite.failure) : null;
  return (
    <section aria-labelledby="invite-title" class="card">
      <h2 id="invite-title">{t.inviteTitle}</h2>
      <p class="muted">{t.inviteIntro}</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void invite.run(e.currentTarget as HTMLFormElement);
        }}
      >
        <Field
          label={common.name}
          id="invite-name"
          name="name"
          autoComplete="off"
          required
          maxLength={100}
          error={at("name")}
        />
        <Field
          label={common.email}
          id="invite-email"
          name="email"
          type="email"
          autoComplete="off"
          required
          error={emailError}
        />
        <RolePicker
          roles={team.roles}
          chosen={roleIds}
          onChange={setRoleIds}
          error={rolesError}
          idPrefix="invite"
        />
        <FormError
          text={
            general ?? (refused && !at("name") && !at("email") && !rolesError ? fieldSentence(refused) : null)
          }
        />
        <button type="submit" class="primary" disabled={invite.busy}>
          {invite.busy ? t.sending : t.sendInvitation}
        </button>
      </form>
    </section>
  );
}

type Override = "roles" | "grant" | "deny";

function UserEditor(props: {
  user: User;
  team: Team;
  onSaved: (user: User, notice: string) => void;
  onDeleted: () => void;
  onClose: () => void;
}) {
  const { user, team } = props;
  const [name, setName] = useState(user.name);
  const [roleIds, setRoleIds] = useState(user.roleIds);
  const [overrides, setOverrides] = useState<Record<string, Override>>(() =>
    Object.fromEntries([
      ...user.grants.map((p) => [p, "grant"] as const),
      ...user.denies.map((p) => [p, "deny"] as const),
    ]),
  );
  const [assigning, setAssigning] = useState(user.assigning.enabled);
  const [maxConcurrent, setMaxConcurrent] = useState(String(user.assigning.maxConcurrent));
  const [allowList, setAllowList] = useState(user.ipAddresses.allowList.join("\n"));
  const [deleting, setDeleting] = useState(false);
  const self = session.state.status === "signed_in" && session.state.me.user.id === user.id;

  const fromRoles = new Set(team.roles.filter((r) => roleIds.includes(r.id)).flatMap((r) => r.permissions));
  const effective = team.catalogue
    .map((p) => p.name)
    .filter((p) => overrides[p] !== "deny" && (overrides[p] === "grant" || fromRoles.has(p)));
  const entries = allowList
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);

  const afterChange = async (saved: User, notice: string) => {
    props.onSaved(saved, notice);
    if (self) await session.reload();
  };
  const save = useAction(async () => {
    const update: UserUpdate = {
      name: name.trim(),
      grants: Object.keys(overrides).filter((p) => overrides[p] === "grant"),
      denies: Object.keys(overrides).filter((p) => overrides[p] === "deny"),
      assigning: { enabled: assigning, maxConcurrent: Number(maxConcurrent) },
      ipAllowList: entries,
      roleIds,
    };
    const saved = await session.api<User>("PATCH", `${USERS}/${user.id}`, update);
    await afterChange(saved, common.changesSaved(saved.name));
  });
  const toggle = useAction(async () => {
    const status = user.status === "disabled" ? "active" : "disabled";
    const saved = await session.api<User>("PATCH", `${USERS}/${user.id}`, { status } satisfies UserUpdate);
    await afterChange(
      saved,
      status === "disabled" ? t.disabledEverywhere(saved.name) : common.enabled(saved.name),
    );
  });
  const remove = useAction(async () => {
    await session.api("DELETE", `${USERS}/${user.id}`);
    setDeleting(false);
    props.onDeleted();
  });

  const refused = invalidField(save.failure);
  const at = (field: string, list?: string[]) =>
    refused?.field === field ? fieldSentence(refused, list) : undefined;
  const code = (save.failure as { code?: string } | null)?.code;
  const rolesError =
    code === "last_admin" || code === "unknown_role" ? sentence(save.failure) : at("roleIds");
  const permissionsError =
    code === "permission_denied" ? sentence(save.failure, "user") : (at("grants") ?? at("denies"));
  const shown = [
    at("name"),
    rolesError,
    permissionsError,
    at("assigning.maxConcurrent"),
    at("ipAllowList", entries),
  ];
  const general = save.failure && !shown.some(Boolean) ? sentence(save.failure) : null;
  const disabled = user.status === "disabled";

  return (
    <section aria-labelledby="editor-title" class="card editor">
      <div class="card-head">
        <h2 id="editor-title">
          {user.name} <span class="muted">· {user.email}</span>
        </h2>
        <button type="button" class="small" onClick={props.onClose} aria-label={t.closeDetails(user.name)}>
          {common.close}
        </button>
      </div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <Field
          label={common.name}
          id="user-name"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          required
          maxLength={100}
          error={at("name")}
        />
        <RolePicker
          roles={team.roles}
          chosen={roleIds}
          onChange={setRoleIds}
          error={rolesError}
          idPrefix="user"
        />

        <fieldset class="field">
          <legend>{t.permissions}</legend>
          <p class="hint">{t.permissionsHint}</p>
          <table class="grid permissions">
            <thead>
              <tr>
                <th scope="col">{t.permission}</th>
                <th scope="col">{t.fromRoles}</th>
                <th scope="col">{t.grant}</th>
                <th scope="col">{t.deny}</th>
                <th scope="col">{t.effective}</th>
              </tr>
            </thead>
            <tbody>
              {team.catalogue.map((p) => (
                <tr key={p.name}>
                  <th scope="row">
                    <code>{p.name}</code>
                    <span class="muted description">{p.description}</span>
                  </th>
                  {(["roles", "grant", "deny"] as const).map((choice) => (
                    <td key={choice}>
                      <input
                        type="radio"
                        name={`perm-${p.name}`}
                        aria-label={`${p.name}: ${t.choices[choice]}`}
                        checked={(overrides[p.name] ?? "roles") === choice}
                        onChange={() => setOverrides({ ...overrides, [p.name]: choice })}
                      />
                      {choice === "roles" && (
                        <span class="muted small-text">
                          {" "}
                          {fromRoles.has(p.name) ? t.fromRolesYes : t.fromRolesNo}
                        </span>
                      )}
                    </td>
                  ))}
                  <td>
                    {effective.includes(p.name) ? (
                      <span class="yes">{t.yes}</span>
                    ) : (
                      <span class="no">{t.no}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="effective" aria-live="polite">
            {t.effectiveList(effective)}
          </p>
          {permissionsError && <p class="field-error">{permissionsError}</p>}
        </fieldset>

        <fieldset class="field">
          <legend>{t.conversations}</legend>
          <label class="check">
            <input
              type="checkbox"
              checked={assigning}
              onChange={(e) => setAssigning(e.currentTarget.checked)}
            />
            {t.alertThem}
          </label>
          <Field
            label={t.maxConcurrent}
            id="user-max"
            type="number"
            min={1}
            max={100}
            value={maxConcurrent}
            onInput={(e) => setMaxConcurrent(e.currentTarget.value)}
            error={at("assigning.maxConcurrent")}
          />
        </fieldset>

        <Area
          label={t.allowedIps}
          id="user-ips"
          hint={t.allowedIpsHint}
          rows={3}
          value={allowList}
          onInput={(e) => setAllowList(e.currentTarget.value)}
          error={at("ipAllowList", entries)}
        />
        {user.ipAddresses.seen.length > 0 && (
          <p class="hint">{t.seenFrom(user.ipAddresses.seen.map((s) => s.ip))}</p>
        )}
        <FormError text={general} />
        <button type="submit" class="primary" disabled={save.busy}>
          {save.busy ? common.saving : common.saveChanges}
        </button>
      </form>

      <section aria-labelledby="account-title" class="danger-zone">
        <h3 id="account-title">{t.account}</h3>
        <div class="row">
          <button type="button" onClick={() => void toggle.run()} disabled={toggle.busy}>
            {disabled ? common.enableNamed(user.name) : common.disableNamed(user.name)}
          </button>
          <button type="button" class="danger" onClick={() => setDeleting(true)}>
            {common.deleteNamed(user.name)}
          </button>
        </div>
        {toggle.failure ? (
          <p class="field-error" role="alert">
            {sentence(toggle.failure)}
          </p>
        ) : null}
        {deleting && (
          <Confirm
            question={t.deleteQuestion(user.name)}
            yes={common.deleteForGood}
            busy={remove.busy}
            onYes={() => void remove.run()}
            onNo={() => {
              setDeleting(false);
              remove.clear();
            }}
          />
        )}
        {remove.failure ? (
          <p class="field-error" role="alert">
            {sentence(remove.failure)}
          </p>
        ) : null}
      </section>
    </section>
  );
}
