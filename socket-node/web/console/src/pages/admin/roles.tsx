// Roles: a matrix of roles × permissions, each checkbox saved as it is clicked; create, rename,
// delete. The built-in admin role holds every permission and is shown read-only.

import { useState } from "preact/hooks";
import { BASE } from "../../api/http";
import type { NewRole, Permission, Role, RoleUpdate } from "../../api/types";
import { fieldSentence, invalidField, sentence } from "../../errors";
import { session } from "../../session";
import { AdminFrame, Confirm, Field, FormError, useAction, useLoad } from "../../ui";

const ROLES = `${BASE.tenant}/roles`;

async function loadRoles() {
  const [roles, catalogue] = await Promise.all([
    session.api<Role[]>("GET", ROLES),
    session.api<Permission[]>("GET", `${BASE.tenant}/permissions`),
  ]);
  return { roles, catalogue };
}

/** A name's refusal said as a sentence, or nothing. */
function nameError(failure: unknown): string | undefined {
  const refused = invalidField(failure);
  if (refused?.field === "name") return fieldSentence(refused);
  const code = (failure as { code?: string } | null)?.code;
  return code === "role_name_taken" ? sentence(failure) : undefined;
}

export function Roles() {
  const loaded = useLoad(loadRoles);
  const [notice, setNotice] = useState("");
  const intro = "A role is a set of permissions. People get the permissions of every role they hold.";
  if (!loaded.data)
    return (
      <AdminFrame title="Roles" intro={intro}>
        {loaded.failure ? <FormError text={sentence(loaded.failure)} /> : <p class="muted">Loading…</p>}
      </AdminFrame>
    );
  const { roles, catalogue } = loaded.data;
  const replace = (role: Role) =>
    loaded.set({ catalogue, roles: roles.map((r) => (r.id === role.id ? role : r)) });
  return (
    <AdminFrame title="Roles" intro={intro}>
      <p role="status" class="notice">
        {notice}
      </p>
      <section aria-labelledby="matrix-title" class="card">
        <h2 id="matrix-title">Permissions by role</h2>
        <div class="scroll">
          <table class="grid matrix">
            <thead>
              <tr>
                <th scope="col">Role</th>
                {catalogue.map((p) => (
                  <th scope="col" key={p.name} title={p.description}>
                    <code>{p.name.replace(":", ":\u200b")}</code>
                  </th>
                ))}
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {roles.map((role) => (
                <RoleRow
                  key={role.id}
                  role={role}
                  catalogue={catalogue}
                  onSaved={(saved, text) => {
                    replace(saved);
                    setNotice(text);
                  }}
                  onDeleted={() => {
                    loaded.set({ catalogue, roles: roles.filter((r) => r.id !== role.id) });
                    setNotice(`The role ${role.name} was deleted.`);
                  }}
                />
              ))}
            </tbody>
          </table>
        </div>
        <dl class="legend">
          {catalogue.map((p) => (
            <div key={p.name}>
              <dt>
                <code>{p.name}</code>
              </dt>
              <dd>{p.description}</dd>
            </div>
          ))}
        </dl>
      </section>
      <NewRoleForm
        onCreated={(role) => {
          loaded.set({ catalogue, roles: [...roles, role] });
          setNotice(`The role ${role.name} was created. Tick its permissions in the table.`);
        }}
      />
    </AdminFrame>
  );
}

function RoleRow(props: {
  role: Role;
  catalogue: Permission[];
  onSaved: (role: Role, notice: string) => void;
  onDeleted: () => void;
}) {
  const { role } = props;
  const [renaming, setRenaming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [name, setName] = useState(role.name);
  const patch = (update: RoleUpdate) => session.api<Role>("PATCH", `${ROLES}/${role.id}`, update);
  // A click shows at once; the box goes back if the server refuses.
  const [pending, setPending] = useState<Record<string, boolean>>({});
  const toggle = useAction(async (permission: string, on: boolean) => {
    setPending({ [permission]: on });
    const permissions = on
      ? [...role.permissions, permission]
      : role.permissions.filter((p) => p !== permission);
    try {
      const saved = await patch({ permissions });
      props.onSaved(saved, `${saved.name}: ${permission} ${on ? "given" : "taken away"}.`);
    } finally {
      setPending({});
    }
  });
  const rename = useAction(async () => {
    const saved = await patch({ name: name.trim() });
    setRenaming(false);
    props.onSaved(saved, `The role is now called ${saved.name}.`);
  });
  const remove = useAction(async () => {
    await session.api("DELETE", `${ROLES}/${role.id}`);
    props.onDeleted();
  });
  const failure = toggle.failure ?? remove.failure ?? (nameError(rename.failure) ? null : rename.failure);
  return (
    <>
      <tr class={role.builtin ? "builtin" : undefined}>
        <th scope="row">
          {renaming ? (
            <form
              class="inline"
              onSubmit={(e) => {
                e.preventDefault();
                void rename.run();
              }}
            >
              <Field
                label={`New name for ${role.name}`}
                id={`rename-${role.id}`}
                value={name}
                onInput={(e) => setName(e.currentTarget.value)}
                required
                maxLength={100}
                error={nameError(rename.failure)}
              />
              <button type="submit" class="primary small" disabled={rename.busy}>
                Save
              </button>
              <button
                type="button"
                class="small"
                onClick={() => {
                  setRenaming(false);
                  setName(role.name);
                  rename.clear();
                }}
              >
                Cancel
              </button>
            </form>
          ) : (
            <>
              <strong>{role.name}</strong>
              {role.builtin && <span class="muted small-text"> built in, every permission</span>}
            </>
          )}
        </th>
        {props.catalogue.map((p) => (
          <td key={p.name}>
            <input
              type="checkbox"
              aria-label={`${role.name}: ${p.name}`}
              checked={role.builtin || (pending[p.name] ?? role.permissions.includes(p.name))}
              disabled={role.builtin || toggle.busy}
              onChange={(e) => void toggle.run(p.name, e.currentTarget.checked)}
            />
          </td>
        ))}
        <td class="actions-cell">
          {!role.builtin && !renaming && (
            <>
              <button
                type="button"
                class="small"
                onClick={() => setRenaming(true)}
                aria-label={`Rename ${role.name}`}
              >
                Rename
              </button>
              <button
                type="button"
                class="small danger"
                onClick={() => setDeleting(true)}
                aria-label={`Delete ${role.name}`}
              >
                Delete
              </button>
            </>
          )}
        </td>
      </tr>
      {(deleting || failure) && (
        <tr class="row-note">
          <td colSpan={props.catalogue.length + 2}>
            {deleting && (
              <Confirm
                question={`Delete the role ${role.name}? Nobody may hold it when it goes.`}
                yes={`Delete ${role.name} for good`}
                busy={remove.busy}
                onYes={() => void remove.run()}
                onNo={() => {
                  setDeleting(false);
                  remove.clear();
                }}
              />
            )}
            {failure ? (
              <p class="field-error" role="alert">
                {role.name}: {sentence(failure, "role")}
              </p>
            ) : null}
          </td>
        </tr>
      )}
    </>
  );
}

function NewRoleForm({ onCreated }: { onCreated: (role: Role) => void }) {
  const create = useAction(async (form: HTMLFormElement) => {
    const name = String(new FormData(form).get("name") ?? "").trim();
    const role = await session.api<Role>("POST", ROLES, { name, permissions: [] } satisfies NewRole);
    form.reset();
    onCreated(role);
  });
  const error = nameError(create.failure);
  return (
    <section aria-labelledby="new-role-title" class="card narrow">
      <h2 id="new-role-title">New role</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void create.run(e.currentTarget as HTMLFormElement);
        }}
      >
        <Field label="Role name" id="new-role-name" name="name" required maxLength={100} error={error} />
        <FormError text={create.failure && !error ? sentence(create.failure, "role") : null} />
        <button type="submit" class="primary" disabled={create.busy}>
          Create role
        </button>
      </form>
    </section>
  );
}
