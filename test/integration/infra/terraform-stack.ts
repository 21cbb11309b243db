/**
 * Runs the configuration in infra/ from a scratch copy against moto_server:
 * the copy gets a test-only provider override (endpoints, fake credentials,
 * few retries) and placeholder artifacts, so the real infra/ folder never
 * holds state, a provider or an override.
 */
import { execFile, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deflateRawSync } from 'node:zlib'

export const INFRA_DIR = fileURLToPath(new URL('../../../infra', import.meta.url))
export const PLUGIN_DIR = '/opt/tf-plugins'

/** Undefined when terraform and its offline provider mirror are here; otherwise why the tests skip. */
export const TERRAFORM_MISSING: string | undefined =
  spawnSync('terraform', ['version'], { stdio: 'ignore' }).status !== 0
    ? 'terraform is not installed on this machine, so the Terraform tests are skipped'
    : existsSync(join(PLUGIN_DIR, 'registry.terraform.io/hashicorp/aws'))
      ? undefined
      : `the offline provider mirror ${PLUGIN_DIR} (hashicorp/aws) is absent, so the Terraform tests are skipped`

/** Undefined when boto3 can read back what moto holds for the services without a JavaScript SDK client in package.json. */
export const BOTO3_MISSING: string | undefined =
  spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0
    ? undefined
    : 'python3 with boto3 (installed with moto) is absent, so the apply test cannot read back Lambda, IAM, EventBridge and CloudWatch and is skipped'

/** The artifacts `npm run package` writes, as placeholders: moto stores functions it cannot run. */
export const ARTIFACTS = ['ingestion_function', 'transform_function', 'loader_function', 'parquet_loader_function', 'duckdb_layer'] as const

const TERRAFORM_ENV = { TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' }

export interface CommandResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its end; never throws for a non-zero exit (the caller asserts on it). */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Readonly<Record<string, string>>; input?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      command,
      args,
      { cwd: options.cwd, env: { ...process.env, ...TERRAFORM_ENV, ...options.env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
        resolvePromise({ code, stdout, stderr })
      },
    )
    child.stdin?.end(options.input ?? '')
  })
}

export interface Stack {
  readonly dir: string
  readonly artifactsDir: string
  terraform(...args: string[]): Promise<CommandResult>
  remove(): Promise<void>
}

/** A scratch copy of infra/*.tf, initialised from the offline mirror, pointed at `endpoint` when given. */
export async function makeStack(endpoint?: string): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'starline-tf-'))
  for (const file of await readdir(INFRA_DIR)) {
    if (file.endsWith('.tf')) await copyFile(join(INFRA_DIR, file), join(dir, file))
  }
  if (endpoint !== undefined) await writeFile(join(dir, 'moto_override.tf'), providerOverride(endpoint))
  const artifactsDir = join(dir, 'artifacts')
  await mkdir(artifactsDir)
  for (const name of ARTIFACTS) {
    await writeFile(join(artifactsDir, `${name}.zip`), zipOf('index.js', `exports.handler = async () => ({ placeholder: ${JSON.stringify(name)} })\n`))
  }
  const terraform = (...args: string[]) => run('terraform', args, { cwd: dir })
  const init = await terraform('init', '-backend=false', `-plugin-dir=${PLUGIN_DIR}`, '-no-color')
  if (init.code !== 0) throw new Error(`terraform init failed in ${dir}: ${init.stderr || init.stdout}`)
  return { dir, artifactsDir, terraform, remove: () => rm(dir, { recursive: true, force: true }) }
}

const SERVICES = ['s3', 'lambda', 'iam', 'sts', 'events', 'sns', 'secretsmanager', 'cloudwatchlogs', 'cloudwatch', 'ec2'] as const

function providerOverride(endpoint: string): string {
  const endpoints = SERVICES.map((s) => `    ${s.padEnd(14)} = "${endpoint}"`).join('\n')
  return `provider "aws" {
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  max_retries                 = 1
  endpoints {
${endpoints}
  }
}
`
}

/** A one-file zip archive (deflated), enough for Lambda's "is this a zip" check. */
export function zipOf(name: string, text: string): Buffer {
  const data = Buffer.from(text)
  const packed = deflateRawSync(data)
  const fileName = Buffer.from(name)
  const crc = crc32(data)
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0)
  local.writeUInt16LE(20, 4)
  local.writeUInt16LE(8, 8)
  local.writeUInt32LE(crc, 14)
  local.writeUInt32LE(packed.length, 18)
  local.writeUInt32LE(data.length, 22)
  local.writeUInt16LE(fileName.length, 26)
  const central = Buffer.alloc(46)
  central.writeUInt32LE(0x02014b50, 0)
  central.writeUInt16LE(20, 4)
  central.writeUInt16LE(20, 6)
  central.writeUInt16LE(8, 10)
  central.writeUInt32LE(crc, 16)
  central.writeUInt32LE(packed.length, 20)
  central.writeUInt32LE(data.length, 24)
  central.writeUInt16LE(fileName.length, 28)
  const centralOffset = local.length + fileName.length + packed.length
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(1, 8)
  end.writeUInt16LE(1, 10)
  end.writeUInt32LE(central.length + fileName.length, 12)
  end.writeUInt32LE(centralOffset, 16)
  return Buffer.concat([local, fileName, packed, central, fileName, end])
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff
  for (const byte of data) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}
