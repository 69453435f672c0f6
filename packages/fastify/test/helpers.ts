export * from '../../../test/helpers/adapter-client.js'
