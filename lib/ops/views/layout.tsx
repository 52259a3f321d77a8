/** @jsxImportSource hono/jsx */
// The page frame: navigation, the open-console banner, the logout form, and the app's own
// stylesheet and script (no CDN; served by functions/ops/assets.ts).

import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { PostForm } from './parts.tsx';

export const NAV = [
  ['/ops', 'Overview'],
  ['/ops/jobs', 'Jobs'],
  ['/ops/failures', 'Failures'],
  ['/ops/ab', 'Transcription A/B'],
  ['/ops/usage', 'Usage'],
] as const;

export interface FrameProps {
  title: string;
  active?: string;
  open?: boolean;
  csrf?: string;
  children?: Child;
}

export function Layout(props: FrameProps) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · AI Service ops`}</title>
          <link rel="stylesheet" href="/ops/assets/ops.css" />
          <script src="/ops/assets/ops.js" defer></script>
        </head>
        <body>
          <header>
            <strong class="brand">AI Service ops</strong>
            {props.csrf !== undefined && (
              <nav>
                {NAV.map(([href, label]) => (
                  <a href={href} class={props.active === href ? 'active' : undefined}>
                    {label}
                  </a>
                ))}
              </nav>
            )}
            {props.csrf !== undefined && !props.open && (
              <PostForm action="/ops/logout" csrf={props.csrf} class="logout">
                <button type="submit">log out</button>
              </PostForm>
            )}
          </header>
          {props.open && (
            <p class="banner" id="open-banner">
              AI_SERVICE_TOKEN is not set: this console is open to anyone who can reach it (development only;
              it is not served with NODE_ENV=production).
            </p>
          )}
          <main>
            <h1>{props.title}</h1>
            {props.children}
          </main>
        </body>
      </html>
    </>
  );
}
