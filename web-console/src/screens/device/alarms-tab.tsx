// A device's alarms, newest first, live: not cleared ones first in the table's
// order of raise, acknowledged and cleared in place by operators.

import { AlarmTable } from '../../components/alarm-table.tsx';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { Link } from '../../lib/router.tsx';
import { useAlarmList } from '../../state/alarms.ts';

export function AlarmsTab({ id }: { id: string }) {
  const { list, error, replace } = useAlarmList(id);
  return (
    <section aria-label="Alarms of the device">
      <ErrorText error={error} />
      {list.length === 0 ? (
        <Empty title="No alarms for this device">
          <p>
            <Link href="/alarms/rules">Alarm rules</Link> that select this device raise alarms here; the charts mark when each was raised
            and cleared.
          </p>
        </Empty>
      ) : (
        <AlarmTable alarms={list} showDevice={false} onChanged={replace} />
      )}
    </section>
  );
}
