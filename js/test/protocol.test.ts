import { describe, expect, it } from "vitest";
import { CHUNK_LIMIT, ChunkJoiner, chunkedSender, frames, utf8Exceeds, type Chunk, type Frame, type ViewMessage } from "../src/protocol";

const counter = () => {
  let n = 0;
  return () => "view:t:" + ++n;
};

function join(out: ReturnType<typeof frames>): string {
  const chunks = out.map((f) => JSON.parse(f.json) as Chunk);
  chunks.forEach((c, i) => {
    expect(c.t).toBe("chunk");
    expect(c.i).toBe(i);
    expect(c.n).toBe(chunks.length);
    expect(c.cid).toBe(chunks[0].cid);
  });
  return chunks.map((c) => c.data).join("");
}

describe("frames", () => {
  it("sends a small message as itself, with its JSON text", () => {
    const msg: ViewMessage = { t: "set", view: "view:a", ns: "n", key: "k", value: [1], id: 1 };
    const out = frames(msg, counter());
    expect(out).toEqual([{ msg, json: JSON.stringify(msg) }]);
  });

  it("splits a message over 4 MiB into chunks under 4 MiB that rebuild the JSON text", () => {
    const value = { text: "ab\"\\".repeat(1024 * 1024 + 7), n: [1, 2, 3] };
    const msg: ViewMessage = { t: "set", view: "view:a", ns: "n", key: "k", value, id: 9 };
    const json = JSON.stringify(msg);
    expect(json.length).toBeGreaterThan(CHUNK_LIMIT);
    const out = frames(msg, counter());
    expect(out.length).toBeGreaterThan(1);
    for (const f of out) expect(utf8Exceeds(f.json, CHUNK_LIMIT)).toBe(false);
    const rebuilt = join(out);
    expect(rebuilt).toBe(json);
    expect(JSON.parse(rebuilt)).toEqual(msg);
  });

  it("counts UTF-8 bytes, not code units", () => {
    const msg: ViewMessage = { t: "set", view: "view:a", ns: "n", key: "k", value: "€".repeat(1.5 * 1024 * 1024), id: 1 };
    expect(JSON.stringify(msg).length).toBeLessThan(CHUNK_LIMIT);
    const out = frames(msg, counter());
    expect(out.length).toBeGreaterThan(1);
    expect(JSON.parse(join(out))).toEqual(msg);
  });

  it("never splits a surrogate pair", () => {
    const msg: ViewMessage = { t: "set", view: "v", ns: "n", key: "k", value: "a😀😀😀😀😀", id: 1 };
    const out = frames(msg, counter(), 10, 4);
    const datas = out.map((f) => (JSON.parse(f.json) as Chunk).data);
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (const d of datas) expect(lone.test(d)).toBe(false);
    expect(lone.test("a\uD83D")).toBe(true); // the check itself can fail
    expect(datas.join("")).toBe(JSON.stringify(msg));
  });

  it("uses a new cid per chunked message", () => {
    const big: ViewMessage = { t: "set", view: "v", ns: "n", key: "k", value: "x".repeat(40), id: 1 };
    const cid = counter();
    const a = JSON.parse(frames(big, cid, 10, 8)[0].json) as Chunk;
    const b = JSON.parse(frames(big, cid, 10, 8)[0].json) as Chunk;
    expect(a.cid).not.toBe(b.cid);
  });
});

describe("utf8Exceeds", () => {
  it("compares the UTF-8 length with the limit", () => {
    expect(utf8Exceeds("abc", 3)).toBe(false);
    expect(utf8Exceeds("abcd", 3)).toBe(true);
    expect(utf8Exceeds("é", 2)).toBe(false);
    expect(utf8Exceeds("é", 1)).toBe(true);
    expect(utf8Exceeds("€", 2)).toBe(true);
    expect(utf8Exceeds("😀", 4)).toBe(false);
    expect(utf8Exceeds("😀", 3)).toBe(true);
  });
});

describe("chunkedSender and ChunkJoiner", () => {
  it("send every frame with ids from one prefix, and the joiner rebuilds each message from its chunks in any order", () => {
    const sent: Frame[] = [];
    const send = chunkedSender((frame) => sent.push(frame), "view:a:c");
    const big: ViewMessage = { t: "set", view: "view:a", ns: "n", key: "k", value: "é😀x".repeat(3 * 1024 * 1024), id: 1 };
    send(big);
    send(big);
    const chunks = sent.map((f) => f.msg as Chunk);
    expect(chunks.length).toBeGreaterThan(2);
    expect(new Set(chunks.map((c) => c.cid))).toEqual(new Set(["view:a:c1", "view:a:c2"]));
    const joiner = new ChunkJoiner();
    const whole: string[] = [];
    for (const chunk of chunks.slice().reverse()) {
      const text = joiner.add(chunk);
      if (text !== null) whole.push(text);
    }
    expect(whole).toEqual([JSON.stringify(big), JSON.stringify(big)]);
  });
});
