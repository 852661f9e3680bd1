// Roles: a matrix of roles × permissions, each checkbox saved as it is clicked; create, rename,
// delete. The built-in admin role holds every permission and is shown read-only.

import { useState } from "preact/hooks";
import { BASE } from "../../api/http";
import type { NewRole, Permission, Role, RoleUpdate } from "../../api/types";
import { fieldSentence, invalidField, sentence } from "../../errors";
import { session } from "../../session";
import { strings } from "../../strings";
import { AdminFrame, AdminPending, Confirm, Field, FormError, useAction, useLoad } from "../../ui";

const ROLES = `${BASE.tenant}/roles`;

const t = strings.admin.roles;
const { common } = strings;

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
  if (!loaded.data) return <AdminPending title={t.title} intro={t.intro} failure={loaded.failure} />;
  const { roles, catalogue } = loaded.data;
  const replace = (role: Role) =>
    loaded.set({ catalogue, roles: roles.map((r) => (r.id === role.id ? role : r)) });
  return (
    <AdminFrame title={t.title} intro={t.intro}>
      <p role="status" class="notice">
        {notice}
      </p>
      <section aria-labelledby="matrix-title" class="card">
        <h2 id="matrix-title">{t.matrix}</h2>
        <div class="scroll">
          <table class="grid matrix">
            <thead>
              <tr>
                <th scope="col">{t.role}</th>
                {catalogue.map((p) => (
                  <th scope="col" key={p.name} title={p.description}>
                    <code>{p.name.replace(":", ":\u200b")}</code>
                  </th>
                ))}
                <th scope="col">
                  <span class="visually-hidden">{common.actions}</span>
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
                    setNotice(t.deleted(role.name));
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
          setNotice(t.created(role.name));
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
      props.onSaved(saved, t.changed(saved.name, permission, on));
    } finally {
      setPending({});
    }
  });
  const rename = useAction(async () => {
    const saved = await patch({ name: name.trim() });
    setRenaming(false);
    props.onSaved(saved, t.renamed(saved.name));
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
                label={t.newName(role.name)}
                id={`rename-${role.id}`}
                value={name}
                onInput={(e) => setName(e.currentTarget.value)}
                required
                maxLength={100}
                error={nameError(rename.failure)}
              />
              <button type="submit" class="primary small" disabled={rename.busy}>
                {common.save}
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
                {common.cancel}
              </button>
            </form>
          ) : (
            <>
              <strong>{role.name}</strong>
              {role.builtin && <span class="muted small-text"> {t.builtin}</span>}
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
                aria-label={t.renameNamed(role.name)}
              >
                {t.rename}
              </button>
              <button
                type="button"
                class="small danger"
                onClick={() => setDeleting(true)}
                aria-label={common.deleteNamed(role.name)}
              >
                {t.delete}
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
                question={t.deleteQuestion(role.name)}
                yes={t.deleteYes(role.name)}
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
      <h2 id="new-role-title">{t.newRole}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void create.run(e.currentTarget as HTMLFormElement);
        }}
      >
        <Field label={t.roleName} id="new-role-name" name="name" required maxLength={100} error={error} />
        <FormError text={create.failure && !error ? sentence(create.failure, "role") : null} />
        <button type="submit" class="primary" disabled={create.busy}>
          {t.create}
        </button>
      </form>
    </section>
  );
}
