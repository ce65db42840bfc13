// "Download CSV": a link to one of the hub's streamed exports. The browser fetches it
// with the session cookie and saves it as it arrives, so an export of any size never
// passes through the page's memory.

export function DownloadLink({ href, label = 'Download CSV' }: { href: string; label?: string }) {
  return (
    <a class="btn small" href={href} download data-testid="download-csv">
      {label}
    </a>
  );
}
