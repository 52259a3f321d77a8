/** @jsxImportSource hono/jsx */
// Failures grouped by category × task type × profile, and the two-step retry/cancel:
// the first POST is a dry run that shows the count and ids; the confirm POST acts.
import type { ByFilterResult } from '../../jobs/admin.ts';
import type { ByFilter } from '../../jobs/schemas.ts';
import { type FailureGroup, groupFilter } from '../failures.ts';
import { fmtInt, fmtTime, PostForm, WindowPicker } from './parts.tsx';

export function FailuresPage(props: { groups: FailureGroup[]; since: string; window: string; csrf: string }) {
  return (
    <>
      <WindowPicker action="/ops/failures" value={props.window} />
      <p class="muted">
        Failed jobs and jobs waiting to retry after an error, created since {fmtTime(props.since)}.
      </p>
      {props.groups.length === 0 ? (
        <p class="muted">no failures in this window</p>
      ) : (
        <table id="failures">
          <thead>
            <tr>
              <th>error_category</th>
              <th>task_type</th>
              <th>model_profile</th>
              <th>failed</th>
              <th>retrying</th>
              <th>first seen</th>
              <th>last seen</th>
              <th>sample</th>
              <th>act</th>
            </tr>
          </thead>
          <tbody>
            {props.groups.map((g) => (
              <tr id={g.error_category} data-group={`${g.error_category}|${g.task_type}|${g.model_profile}`}>
                <td>{g.error_category}</td>
                <td>{g.task_type}</td>
                <td>{g.model_profile}</td>
                <td>{fmtInt(g.failed)}</td>
                <td>{fmtInt(g.retrying)}</td>
                <td>{fmtTime(g.first_seen)}</td>
                <td>{fmtTime(g.last_seen)}</td>
                <td class="sample">
                  <a href={`/ops/jobs/${g.sample_id}`}>{g.sample_message ?? '(no message)'}</a>
                </td>
                <td>
                  {g.failed > 0 && (
                    <ActionButton
                      action="retry"
                      filter={groupFilter(g, props.since, 'retry')}
                      csrf={props.csrf}
                      label="retry these…"
                    />
                  )}
                  {g.retrying > 0 && (
                    <ActionButton
                      action="cancel"
                      filter={groupFilter(g, props.since, 'cancel')}
                      csrf={props.csrf}
                      label="cancel these…"
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function ActionButton(props: { action: 'retry' | 'cancel'; filter: ByFilter; csrf: string; label: string }) {
  return (
    <PostForm action="/ops/actions" csrf={props.csrf}>
      <input type="hidden" name="action" value={props.action} />
      <input type="hidden" name="step" value="preview" />
      <input type="hidden" name="filter" value={JSON.stringify(props.filter)} />
      <button type="submit" class={props.action}>
        {props.label}
      </button>
    </PostForm>
  );
}

const idsHref = (ids: string[]) => `/ops/jobs?ids=${ids.slice(0, 500).join(',')}`;

export function ActionPreview(props: {
  action: 'retry' | 'cancel';
  filter: ByFilter;
  dry: ByFilterResult;
  csrf: string;
}) {
  const { dry } = props;
  return (
    <>
      <p id="dry-run">
        Dry run: <b id="dry-count">{fmtInt(dry.count)}</b> job{dry.count === 1 ? '' : 's'} would be{' '}
        {props.action === 'retry' ? 'sent back to pending' : 'cancelled'}
        {dry.has_more
          ? ` (this action handles the first ${fmtInt(dry.ids.length)}; repeat for the rest)`
          : ''}
        .
      </p>
      <details open={dry.ids.length <= 20}>
        <summary>ids ({fmtInt(dry.ids.length)})</summary>
        <ul id="dry-ids" class="ids">
          {dry.ids.slice(0, 200).map((id) => (
            <li>
              <a href={`/ops/jobs/${id}`}>{id}</a>
            </li>
          ))}
        </ul>
      </details>
      <details>
        <summary>filter</summary>
        <pre>{JSON.stringify(props.filter, null, 2)}</pre>
      </details>
      {dry.count > 0 ? (
        <PostForm action="/ops/actions" csrf={props.csrf}>
          <input type="hidden" name="action" value={props.action} />
          <input type="hidden" name="step" value="confirm" />
          <input type="hidden" name="filter" value={JSON.stringify(props.filter)} />
          <button type="submit" id="confirm" class={props.action}>
            {props.action} {fmtInt(dry.count)} job{dry.count === 1 ? '' : 's'}
          </button>{' '}
          <a href="/ops/failures">back</a>
        </PostForm>
      ) : (
        <p>
          Nothing to do. <a href="/ops/failures">back</a>
        </p>
      )}
    </>
  );
}

export function ActionDone(props: { action: 'retry' | 'cancel'; done: ByFilterResult }) {
  const { done } = props;
  return (
    <>
      <p id="action-done">
        {props.action === 'retry' ? 'Sent back to pending' : 'Cancelled'}:{' '}
        <b id="done-count">{fmtInt(done.count)}</b> job{done.count === 1 ? '' : 's'}
        {done.has_more ? ' — more match; run it again for the rest' : ''}.
      </p>
      {done.ids.length > 0 && (
        <p>
          <a href={idsHref(done.ids)} id="view-jobs">
            view these jobs →
          </a>
        </p>
      )}
      <p>
        <a href="/ops/failures">back to failures</a>
      </p>
    </>
  );
}
