// The calls contract, run in a page of tests/pages/calls.html (functions: calls_functions.py).
// Resolves with what happened; the tests compare it with CONTRACT_EXPECTED.
async () => {
  const P = Pytonium;
  const name = (p) => p.then(() => "resolved", (e) => e.name);
  const r = {};
  r.shellUndefined = P.shell === undefined;
  r.unknown = await name(P.callFunction("get_config"));
  r.value = await P.test_function_binding.testfunc("hi");
  r.error = await P.api.boom().then(() => null, (e) => [e.name, e.message]);
  r.wrongCount = await P.api.boom(1).then(() => null, (e) => e.name);
  const many = [];
  for (let i = 0; i < 1000; i++) many.push(P.api.twice(i));
  r.thousand = (await Promise.all(many)).every((v, i) => v === 2 * i);
  const ac = new AbortController();
  const hanging = P.api.hang(ac.signal);
  setTimeout(() => ac.abort(), 200);
  r.abort = await name(hanging);
  r.timeout = await name(P.api.hang(P.callOptions({ timeout: 200 })));
  const text = "é".repeat(10 * 1024 * 1024); // 20 MB of UTF-8 each way
  const back = await P.api.big(text);
  r.bigWhole = back.length === text.length + 10 && back.slice(-11) === "é!!!!!!!!!!";
  return r;
}
