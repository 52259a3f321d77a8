/** @jsxImportSource hono/jsx */
// The login form: the service token in, a session cookie out (functions/ops/login.ts).
import { Layout } from './layout.tsx';

export function LoginPage(props: { next: string; loginCsrf: string; error?: string }) {
  return (
    <Layout title="Log in">
      <form method="post" action="/ops/login" id="login" class="login">
        <input type="hidden" name="_login" value={props.loginCsrf} />
        <input type="hidden" name="next" value={props.next} />
        <label>
          Service token (AI_SERVICE_TOKEN)
          <input type="password" name="token" autocomplete="current-password" required autofocus />
        </label>
        <button type="submit">log in</button>
        {props.error && (
          <p class="error" id="login-error">
            {props.error}
          </p>
        )}
      </form>
    </Layout>
  );
}
