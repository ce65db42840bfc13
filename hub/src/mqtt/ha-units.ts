// SenML units (RFC 8428 §12.1 and the secondary units of RFC 8798) as Home
// Assistant sensors want them: a unit_of_measurement HA knows, and the
// device_class that goes with it. Units not listed pass through unchanged with
// no device class (HA shows them, but will not convert or group them).

export interface HaUnit {
  unit: string;
  deviceClass?: string;
}

const UNITS: Record<string, HaUnit> = {
  Cel: { unit: '°C', deviceClass: 'temperature' },
  K: { unit: 'K', deviceClass: 'temperature' },
  '%RH': { unit: '%', deviceClass: 'humidity' },
  '%EL': { unit: '%', deviceClass: 'battery' },
  '%': { unit: '%' },
  V: { unit: 'V', deviceClass: 'voltage' },
  mV: { unit: 'mV', deviceClass: 'voltage' },
  A: { unit: 'A', deviceClass: 'current' },
  mA: { unit: 'mA', deviceClass: 'current' },
  W: { unit: 'W', deviceClass: 'power' },
  kW: { unit: 'kW', deviceClass: 'power' },
  Wh: { unit: 'Wh', deviceClass: 'energy' },
  kWh: { unit: 'kWh', deviceClass: 'energy' },
  Pa: { unit: 'Pa', deviceClass: 'pressure' },
  hPa: { unit: 'hPa', deviceClass: 'pressure' },
  bar: { unit: 'bar', deviceClass: 'pressure' },
  lx: { unit: 'lx', deviceClass: 'illuminance' },
  Hz: { unit: 'Hz', deviceClass: 'frequency' },
  dBm: { unit: 'dBm', deviceClass: 'signal_strength' },
  m: { unit: 'm', deviceClass: 'distance' },
  km: { unit: 'km', deviceClass: 'distance' },
  'm/s': { unit: 'm/s', deviceClass: 'speed' },
  'km/h': { unit: 'km/h', deviceClass: 'speed' },
  s: { unit: 's', deviceClass: 'duration' },
  ms: { unit: 'ms', deviceClass: 'duration' },
  min: { unit: 'min', deviceClass: 'duration' },
  h: { unit: 'h', deviceClass: 'duration' },
  kg: { unit: 'kg', deviceClass: 'weight' },
  g: { unit: 'g', deviceClass: 'weight' },
  B: { unit: 'B', deviceClass: 'data_size' },
  ppm: { unit: 'ppm' },
};

export function haUnit(senml: string | undefined): HaUnit | undefined {
  if (senml === undefined || senml === '') return undefined;
  return UNITS[senml] ?? { unit: senml };
}
