// An error in words, where the action was taken; announced to screen readers.

import { errorText } from '../api/http.ts';

export function ErrorText({ error }: { error: unknown }) {
  if (error === undefined || error === null || error === '') return null;
  return (
    <p class="error" role="alert">
      {typeof error === 'string' ? error : errorText(error)}
    </p>
  );
}
