/**
 * A synthetic identity registry: `count` invented people with valid GB 11643-1999 ID numbers (a real county
 * code, the birth date, a sequence whose parity is the sex, the ISO 7064 MOD 11-2 check digit) and a registry
 * photo each. Deterministic: the same seed gives the same people, so tests can name them.
 *
 * Portraits are shared, not one per person: a pool of distinct faces is written once, and person i gets face
 * i mod pool size. By default the pool is the real faces of test/fixtures/faces, one photo per person (23
 * people; SOURCES.md), because the issuer's face model (HumanFaceMatcher) finds no face in a drawn one;
 * `portraitDir` takes another directory of real photos. Drawn faces (face-svg) only with `drawn: true`, for
 * fixtures no face model looks at (loading and lookup tests, registry size). Thousands of people therefore cost
 * a pool's worth of image files, and two people with the same face index are the same face by construction
 * (the duplicate-face rule refuses the second once the first is verified); tests that need a person nobody
 * else resembles use indices below the pool size.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { extname, join } from "node:path";
import { withCheckDigit, type RegistryPerson } from "@realname/agent";
import { REPO_ROOT } from "@realname/agent";
import { liveCapture, registryPhoto, rng } from "./face-svg.js";
import { liveCaptureOf } from "./live-capture.js";

/** The real faces (one photo per person: `-2` and later are second photos of someone already in the pool). */
export const REAL_FACES_DIR = join(REPO_ROOT, "test", "fixtures", "faces");

/** Real county-level codes (GB/T 2260): Beijing Dongcheng/Chaoyang, Shanghai Pudong, Shenzhen Futian, ... */
const COUNTIES = ["110101", "110105", "120101", "130102", "310104", "310115", "320102", "330106", "350203", "370102", "420106", "440106", "440305", "500103", "510104", "610113"];
const FAMILY = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高"];
const GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "建", "国", "文", "辉"];

export interface FixturePerson extends RegistryPerson {
  recordId: string;
  /** Which face of the pool is this person's registry photo. */
  face: number;
  /** Path of the registry photo relative to the registry file. */
  photo: string;
}

export interface RegistryFixture {
  /** The NDJSON registry file (IDENTITY_REGISTRY_FILE). */
  file: string;
  people: FixturePerson[];
  /** A live capture of person `i`'s face: the pool photo re-framed (scripts/lib/live-capture.ts), or for drawn faces re-rendered. */
  livePortrait(i: number): Promise<Buffer>;
}

export interface RegistryFixtureOptions {
  count: number;
  outDir: string;
  seed?: number;
  /** Distinct faces (default: every photo of the directory, or min(count, 64) drawn faces); at most the photos there. */
  poolSize?: number;
  /** Take the pool from these real photos (sorted by name; default test/fixtures/faces). */
  portraitDir?: string;
  /** Drawn faces instead of photos: only for fixtures no face model compares. */
  drawn?: boolean;
  /** Embed each photo (base64) in its record instead of referring to the pool file. */
  embed?: boolean;
}

export async function makeRegistryFixture(options: RegistryFixtureOptions): Promise<RegistryFixture> {
  const seed = options.seed ?? 20261122;
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  mkdirSync(join(options.outDir, "portraits"), { recursive: true });

  const dir = options.portraitDir ?? REAL_FACES_DIR;
  const sources = options.drawn
    ? undefined
    : readdirSync(dir)
        .filter((f) => /\.(png|jpe?g)$/i.test(f) && !/-[2-9]\.[a-z]+$/i.test(f))
        .sort();
  const poolSize = sources ? Math.max(1, Math.min(options.poolSize ?? sources.length, sources.length, options.count)) : Math.max(1, Math.min(options.poolSize ?? 64, options.count));
  const poolFiles: string[] = [];
  for (let f = 0; f < poolSize; f++) {
    const name = sources ? `face-${String(f).padStart(4, "0")}${extname(sources[f]!).toLowerCase()}` : `face-${String(f).padStart(4, "0")}.png`;
    if (sources) copyFileSync(join(dir, sources[f]!), join(options.outDir, "portraits", name));
    else writeFileSync(join(options.outDir, "portraits", name), await registryPhoto(seed + f));
    poolFiles.push(`portraits/${name}`);
  }

  const used = new Set<string>();
  const people: FixturePerson[] = [];
  for (let i = 0; i < options.count; i++) {
    let idNumber: string;
    let birthDate: string;
    do {
      const y = 1940 + Math.floor(random() * 66);
      const m = 1 + Math.floor(random() * 12);
      const d = 1 + Math.floor(random() * 28);
      birthDate = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
      const sequence = String(Math.floor(random() * 1000)).padStart(3, "0");
      idNumber = withCheckDigit(`${pick(COUNTIES)}${birthDate.replaceAll("-", "")}${sequence}`);
    } while (used.has(idNumber));
    used.add(idNumber);
    const familyName = pick(FAMILY);
    const givenName = random() < 0.5 ? pick(GIVEN) : pick(GIVEN) + pick(GIVEN);
    people.push({ idNumber, fullName: familyName + givenName, familyName, givenName, birthDate, recordId: `fixture-${seed}-${i}`, face: i % poolSize, photo: poolFiles[i % poolSize]! });
  }

  const file = join(options.outDir, "registry.ndjson");
  const lines = people.map(({ face: _face, photo, ...p }) => JSON.stringify(options.embed ? { ...p, photoBase64: readFileSync(join(options.outDir, photo)).toString("base64") } : { ...p, photo }));
  writeFileSync(file, lines.join("\n") + "\n");
  return {
    file,
    people,
    livePortrait: async (i) => {
      const person = people[i]!;
      if (!sources) return liveCapture(seed + person.face);
      return liveCaptureOf(readFileSync(join(options.outDir, person.photo)));
    },
  };
}
