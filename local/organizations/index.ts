export {
  type AccountStatus,
  type LocalOrganizationsServer,
  type OrganizationAccountSpec,
  type OrganizationsServerOptions,
  type OrganizationUnitSpec,
  startOrganizationsServer,
} from './server';
