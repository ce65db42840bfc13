// The firmware library (docs/firmware.md): images by model, newest version first, an
// upload with its progress (the body streams to the hub, which hashes and signs it),
// the hub's public signing key for provisioning devices, and a shortcut to roll an
// image out to its model as a job.

import { useEffect, useState } from 'preact/hooks';
import { type FirmwareImage, jobs as jobsApi } from '../api/endpoints.ts';
import { API_BASE, api, errorText } from '../api/http.ts';
import { AskOnce } from '../components/confirm.tsx';
import { CopyButton } from '../components/copy-button.tsx';
import { Empty } from '../components/empty.tsx';
import { ErrorText } from '../components/error-text.tsx';
import { Field } from '../components/field.tsx';
import { flash } from '../lib/flash.ts';
import { timestamp } from '../lib/format.ts';
import { useTitle } from '../lib/title.ts';
import { useCan } from '../state/app-context.ts';

interface SigningKey {
  algorithm: string;
  publicKey: string;
  pem: string;
  fingerprint: string;
}

/** POST /firmware with the file as the body; XMLHttpRequest, for upload progress (fetch has none). */
function upload(
  file: File,
  meta: { model: string; version: string; notes: string },
  onProgress: (sent: number) => void,
): Promise<FirmwareImage> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const q = new URLSearchParams({ model: meta.model, version: meta.version, ...(meta.notes ? { notes: meta.notes } : {}) });
    xhr.open('POST', `${API_BASE}/firmware?${q}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = undefined;
      }
      if (xhr.status === 201) resolve(body as FirmwareImage);
      else reject(new Error((body as { error?: { message?: string } } | undefined)?.error?.message ?? `upload failed (${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error('the hub cannot be reached; check that it is running'));
    xhr.send(file);
  });
}

export function FirmwareScreen() {
  useTitle('Firmware');
  const can = useCan('operator');
  const [images, setImages] = useState<FirmwareImage[]>([]);
  const [key, setKey] = useState<SigningKey | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [file, setFile] = useState<File | undefined>(undefined);
  const [model, setModel] = useState('');
  const [version, setVersion] = useState('');
  const [notes, setNotes] = useState('');
  const [sent, setSent] = useState<number | undefined>(undefined);
  const reload = () =>
    jobsApi.firmware().then(
      (r) => setImages(r.firmware),
      (err: unknown) => setError(err),
    );
  useEffect(() => {
    void reload();
    api<SigningKey>('GET', '/firmware/signing-key').then(setKey, () => setKey(undefined));
  }, []);
  const byModel = new Map<string, FirmwareImage[]>();
  for (const f of images) byModel.set(f.model, [...(byModel.get(f.model) ?? []), f]);
  return (
    <>
      <h1>Firmware</h1>
      <ErrorText error={error} />
      {can ? (
        <form
          class="panel form"
          aria-label="Upload an image"
          onSubmit={async (e) => {
            e.preventDefault();
            if (file === undefined || model === '' || version === '') return;
            setError(undefined);
            setSent(0);
            try {
              const image = await upload(file, { model, version, notes }, setSent);
              flash(`Uploaded ${image.model} ${image.version} (${image.size.toLocaleString('en')} B): ready to roll out as a job.`);
              setVersion('');
              setNotes('');
              await reload();
            } catch (err) {
              setError(errorText(err));
            } finally {
              setSent(undefined);
            }
          }}
        >
          <Field label="Image file">{(a) => <input {...a} type="file" onChange={(e) => setFile(e.currentTarget.files?.[0])} />}</Field>
          <Field label="Model">{(a) => <input {...a} value={model} onInput={(e) => setModel(e.currentTarget.value)} />}</Field>
          <Field label="Version">{(a) => <input {...a} value={version} onInput={(e) => setVersion(e.currentTarget.value)} />}</Field>
          <Field label="Release notes">{(a) => <textarea {...a} value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />}</Field>
          {sent !== undefined && file !== undefined ? (
            <p data-testid="upload-progress">
              <progress max={file.size} value={sent} /> {Math.round((sent / Math.max(1, file.size)) * 100)}%
            </p>
          ) : null}
          <button type="submit" class="btn primary" disabled={sent !== undefined || file === undefined || !model || !version}>
            Upload
          </button>
        </form>
      ) : null}
      {images.length === 0 ? <Empty title="No firmware images yet">Upload one to update devices over their channel.</Empty> : null}
      {[...byModel].map(([m, list]) => (
        <section key={m} aria-label={`Model ${m}`}>
          <h2>{m}</h2>
          <div class="scroll-x">
            <table class="list" data-testid={`firmware-${m}`}>
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Size</th>
                  <th>Status</th>
                  <th>SHA-256</th>
                  <th class="hide-narrow">Uploaded</th>
                  <th class="hide-narrow">Notes</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((f) => (
                  <tr key={f.id}>
                    <td>{f.version}</td>
                    <td>{f.size.toLocaleString()} B</td>
                    <td>{f.status}</td>
                    <td class="mono" title={f.sha256 ?? undefined}>
                      {f.sha256?.slice(0, 16) ?? ''}
                    </td>
                    <td class="hide-narrow">
                      {timestamp(f.createdAt)} <span class="muted">by {f.createdBy}</span>
                    </td>
                    <td class="hide-narrow wrap-any" data-testid="firmware-notes">
                      {f.notes}
                    </td>
                    <td>
                      {can && f.status === 'ready' ? (
                        <AskOnce
                          small
                          label="Delete…"
                          action={`Delete ${f.model} ${f.version}`}
                          onConfirm={async () => {
                            try {
                              await api('DELETE', `/firmware/${encodeURIComponent(f.id)}`);
                              await reload();
                            } catch (err) {
                              setError(err);
                            }
                          }}
                        />
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ))}
      <h2>Signing key</h2>
      {key ? (
        <div class="panel" data-testid="signing-key">
          <p>
            Devices verify images with this Ed25519 public key (docs/firmware.md, Signing). Fingerprint{' '}
            <span class="mono wrap-any">{key.fingerprint}</span>
          </p>
          <pre class="block">{key.pem}</pre>
          <CopyButton text={key.publicKey} label="Copy the raw key (base64)" />
        </div>
      ) : (
        <p class="muted">No signing key yet: the hub makes one with the first upload (unless signing is off).</p>
      )}
    </>
  );
}
