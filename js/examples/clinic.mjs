// Shared by the examples' tests: a verified setup of clinic.example (its DNS
// answered from its own records, as if published) with one use case, on a
// channel from createChannel or createAsyncChannel.

/** The answers a resolver would give once `setup.records` are published. */
export function publishedAnswers(setup) {
  const answers = new Map();
  for (const r of setup.records) {
    const key = `${r.type} ${r.name}`;
    if (!answers.has(key)) answers.set(key, { name: r.name, type: r.type, result: { kind: r.type, records: [] } });
    const { records } = answers.get(key).result;
    if (r.type === 'txt') records.push(r.value.match(/.{1,255}/g));
    else {
      const [preference, exchange] = r.value.split(' ');
      records.push({ preference: Number(preference), exchange });
    }
  }
  return [...answers.values()];
}

export async function clinic(channel, { type = 'transactional' } = {}) {
  const setup = await channel.setups.create('ws-1', 'clinic.example', { inboundHost: 'inbound.mailroom.example' });
  const { setup: verified } = await channel.setups.verify('ws-1', setup.id, publishedAnswers(setup));
  if (verified.status !== 'verified') throw new Error(`clinic.example: ${verified.status}`);
  const useCase = await channel.useCases.create('ws-1', {
    setup: setup.id,
    sender: 'care@clinic.example',
    type,
    entityName: 'Riverside Clinic',
    useCaseName: type === 'marketing' ? 'Newsletter' : 'Appointments',
  });
  return { setup: verified, useCase };
}
