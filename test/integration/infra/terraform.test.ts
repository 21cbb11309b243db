import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns'
import { MOTO_MISSING, startMoto, type MotoServer } from '../../support/moto-server.js'
import { BOTO3_MISSING, INFRA_DIR, TERRAFORM_MISSING, makeStack, run, type Stack } from './terraform-stack.js'
import { checkAlarms, checkFunctions, checkPolicies, checkSchedules, readInventory, type Inventory, type Outputs } from './terraform-checks.js'

const ACCOUNT = '123456789012'
const WORKGROUP_ARN = `arn:aws:redshift-serverless:eu-west-2:${ACCOUNT}:workgroup/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab`

/** Everything optional switched on, so one apply covers the Redshift and Parquet loader pieces too. */
function fullVariables(artifactsDir: string): Record<string, unknown> {
  return {
    lambda_artifacts_dir: artifactsDir,
    alarm_email: 'data-team@example.com',
    force_destroy_buckets: true,
    secret_recovery_window_days: 0,
    warehouse_engine: 'redshift',
    warehouse_schema: 'analytics',
    redshift_data_api_resource_arn: WORKGROUP_ARN,
    vpc_subnet_ids: ['subnet-0abc1234', 'subnet-0def5678'],
    vpc_security_group_ids: ['sg-0abc1234'],
    vpc_functions: ['ingestion', 'loader'],
    parquet_loader: {
      enabled: true,
      spec_json: JSON.stringify({ schema: 'tara_test', tables: [{ name: 'users', prefix: 's3://starline-datasets/twitter/users/' }] }),
      dataset_bucket: 'starline-datasets',
      dataset_prefixes: ['twitter/users/', 'twitter/tweets/'],
      schedule_expression: 'rate(1 day)',
    },
  }
}

// The offline checks run while the apply to moto runs: both mostly wait on terraform.
describe('infra/ (Terraform)', { skip: TERRAFORM_MISSING, concurrency: true }, () => {
  it('is formatted canonically (terraform fmt -check -recursive)', async () => {
    const result = await run('terraform', ['fmt', '-check', '-recursive', '-no-color', INFRA_DIR])
    assert.equal(result.code, 0, `terraform fmt would rewrite: ${result.stdout}${result.stderr}`)
  })

  describe('without a cloud', { concurrency: true }, () => {
    let stack: Stack

    before(async () => {
      stack = await makeStack()
    })

    after(async () => {
      await stack?.remove()
    })

    it('validates (terraform init -plugin-dir + validate)', async () => {
      const result = await stack.terraform('validate', '-no-color')
      assert.equal(result.code, 0, result.stderr || result.stdout)
    })

    // Variable validation runs before any resource is read, so a plan shows it
    // without a cloud; offline credentials keep the provider from waiting for
    // instance metadata meanwhile.
    const plan = (...vars: string[]) =>
      run('terraform', ['plan', '-no-color', '-refresh=false', '-lock=false', `-var=lambda_artifacts_dir=${stack.artifactsDir}`, ...vars.map((v) => `-var=${v}`)], {
        cwd: stack.dir,
        env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true', AWS_MAX_ATTEMPTS: '1' },
      })

    it('refuses an ingestion interval that cannot meet the 30-minute requirement, naming the variable', async () => {
      const result = await plan('ingestion_interval_minutes=45')
      assert.notEqual(result.code, 0)
      assert.match(result.stderr, /ingestion_interval_minutes must be a whole number from 1 to 20/)
    })

    it('refuses a warehouse URL that holds a password', async () => {
      const result = await plan('warehouse_url=postgres://loader:hunter2@dwh:5432/w')
      assert.notEqual(result.code, 0)
      assert.match(result.stderr, /warehouse_url must not hold a password/)
      assert.doesNotMatch(result.stderr, /hunter2/)
    })
  })

  describe('applied to moto_server', { skip: MOTO_MISSING ?? BOTO3_MISSING, concurrency: false }, () => {
    let moto: MotoServer
    let stack: Stack
    let outputs: Outputs
    let inventory: Inventory
    let destroyed = false
    const clientConfig = () => ({
      endpoint: moto.endpoint,
      region: 'eu-west-2',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    })

    before(async () => {
      moto = await startMoto()
      stack = await makeStack(moto.endpoint)
      await writeFile(join(stack.dir, 'test.tfvars.json'), JSON.stringify(fullVariables(stack.artifactsDir)))
      const apply = await stack.terraform('apply', '-auto-approve', '-no-color', '-parallelism=20', '-var-file=test.tfvars.json')
      assert.equal(apply.code, 0, `terraform apply failed: ${apply.stderr || apply.stdout.slice(-4000)}`)
      const shown = await stack.terraform('output', '-json')
      outputs = Object.fromEntries(Object.entries(JSON.parse(shown.stdout) as Record<string, { value: unknown }>).map(([k, v]) => [k, v.value])) as unknown as Outputs
      inventory = await readInventory(moto, outputs)
    })

    after(async () => {
      if (stack !== undefined && !destroyed) await stack.terraform('destroy', '-auto-approve', '-no-color', '-var-file=test.tfvars.json')
      await stack?.remove()
      await moto?.stop()
    })

    it('creates both lake buckets private, encrypted and versioned', async () => {
      const s3 = new S3Client(clientConfig())
      for (const bucket of [outputs.ingestion_bucket, outputs.processed_bucket]) {
        assert.match(bucket, new RegExp(`^starline-(ingestion|processed)-${ACCOUNT}$`))
        const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))
        assert.equal(encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256')
        assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Enabled')
        assert.deepEqual((await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration, {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        })
      }
      s3.destroy()
    })

    it('archives the ingestion zone after 30 days and trims old versions, never expiring current objects', async () => {
      const s3 = new S3Client(clientConfig())
      const rules = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: outputs.ingestion_bucket }))).Rules ?? []
      const archive = rules.find((r) => r.ID === 'archive-ingested-runs')
      assert.deepEqual(archive?.Transitions, [{ Days: 30, StorageClass: 'STANDARD_IA' }])
      const trim = rules.find((r) => r.ID === 'trim-old-versions')
      assert.equal(trim?.NoncurrentVersionExpiration?.NoncurrentDays, 7)
      assert.equal(trim?.AbortIncompleteMultipartUpload?.DaysAfterInitiation, 1)
      assert.ok(rules.every((r) => r.Expiration?.Days === undefined && r.Expiration?.Date === undefined), 'no rule expires current objects')
      s3.destroy()
    })

    it('invokes the transform and the loader only for manifests in their zone', async () => {
      const s3 = new S3Client(clientConfig())
      const expected = [
        [outputs.ingestion_bucket, outputs.function_names.transform],
        [outputs.processed_bucket, outputs.function_names.loader],
      ] as const
      for (const [bucket, functionName] of expected) {
        const config = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }))
        assert.equal(config.LambdaFunctionConfigurations?.length, 1)
        const target = config.LambdaFunctionConfigurations![0]!
        assert.equal(target.LambdaFunctionArn, `arn:aws:lambda:eu-west-2:${ACCOUNT}:function:${functionName}`)
        assert.deepEqual(target.Events, ['s3:ObjectCreated:*'])
        const rules = Object.fromEntries((target.Filter?.Key?.FilterRules ?? []).map((r) => [r.Name?.toLowerCase(), r.Value]))
        assert.deepEqual(rules, { prefix: '_manifests/', suffix: '.json' })
      }
      s3.destroy()
    })

    it('creates the four functions with their runtime, handler, layer, sizes and environment', () => {
      const loaderSpec = (fullVariables('').parquet_loader as { spec_json: string }).spec_json
      checkFunctions(inventory, outputs, { warehouseSchema: 'analytics', loaderSpec })
    })

    it('schedules the ingestion every 5 minutes and the Parquet loader daily', () => {
      checkSchedules(inventory, outputs)
    })

    it('creates the secrets without a value, and Terraform state holds none', async () => {
      const secrets = new SecretsManagerClient(clientConfig())
      for (const arn of [outputs.source_secret_arn, outputs.warehouse_secret_arn!]) {
        assert.ok((await secrets.send(new DescribeSecretCommand({ SecretId: arn }))).Name?.startsWith('starline/'))
        await assert.rejects(secrets.send(new GetSecretValueCommand({ SecretId: arn })), /ResourceNotFound|can't find|no value/i)
      }
      secrets.destroy()
      const state = await readFile(join(stack.dir, 'terraform.tfstate'), 'utf8')
      assert.doesNotMatch(state, /secret_string|SecretString/)
    })

    it('sends alarms to an SNS topic with the email subscription', async () => {
      const sns = new SNSClient(clientConfig())
      const subscriptions = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: outputs.alarm_topic_arn }))
      assert.deepEqual(
        subscriptions.Subscriptions?.map((s) => [s.Protocol, s.Endpoint]),
        [['email', 'data-team@example.com']],
      )
      sns.destroy()
    })

    it('alarms on each function failing and on a stale warehouse, with log retention and error-line filters', () => {
      checkAlarms(inventory, outputs)
    })

    it('gives each function and the Redshift COPY role only the buckets, prefixes and secrets it needs', () => {
      checkPolicies(inventory, outputs, { workgroupArn: WORKGROUP_ARN })
    })

    it('plans the default configuration (PostgreSQL, no Parquet loader, no VPC) from the applied one', async () => {
      const defaults = ['-var', `lambda_artifacts_dir=${stack.artifactsDir}`, '-var', 'force_destroy_buckets=true', '-var', 'secret_recovery_window_days=0']
      const result = await stack.terraform('plan', '-no-color', '-refresh=false', ...defaults)
      assert.equal(result.code, 0, result.stderr)
      assert.match(result.stdout, /aws_iam_role\.redshift_copy\[0\] will be destroyed/)
      assert.match(result.stdout, /aws_lambda_function\.function\["parquet_loader"\] will be destroyed/)
      assert.match(result.stdout, /aws_lambda_function\.function\["ingestion"\] will be updated in-place/)
      assert.doesNotMatch(result.stdout, /aws_s3_bucket\.(ingestion|processed) must be replaced/)
    })

    it('destroys everything it created', async () => {
      const destroy = await stack.terraform('destroy', '-auto-approve', '-no-color', '-var-file=test.tfvars.json')
      assert.equal(destroy.code, 0, destroy.stderr || destroy.stdout.slice(-4000))
      destroyed = true
      const s3 = new S3Client(clientConfig())
      await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: outputs.ingestion_bucket })), { name: 'NotFound' })
      s3.destroy()
      const state = JSON.parse(await readFile(join(stack.dir, 'terraform.tfstate'), 'utf8')) as { resources: unknown[] }
      assert.deepEqual(state.resources, [])
    })
  })
})
