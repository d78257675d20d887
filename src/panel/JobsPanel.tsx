/**
 * The left-sidebar widget: the filtered job list, or one job in detail; and,
 * where a backend runs schedules, the Schedules tab.
 */
import {
  ReactWidget,
  UseSignal,
  addIcon,
  refreshIcon,
  tableRowsIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';
import { useCallback, useEffect, useState } from 'react';

import { IJob, ISchedule } from '../api';
import { ServerBackends } from '../backends';
import { mlpIcon } from '../icons';
import { Filters } from './Filters';
import { JobDetail } from './JobDetail';
import { IconButton } from './IconButton';
import { JobList } from './JobList';
import { JobListFilter, JobsModel } from './model';
import { SchedulesModel } from './schedulesModel';
import { SchedulesPane } from './SchedulesPane';
import { KNOWN_BACKENDS } from '../vocabulary';

/** What the panel asks of the application (commands, opening files). */
export interface IPanelActions {
  cancel: (job: IJob) => void;
  rerun: (job: IJob) => Promise<IJob | null>;
  /** Open the launch form prefilled with a job's spec. */
  rerunWithChanges: (job: IJob) => void;
  /** Delete a terminal job (after asking); resolves to whether it was deleted. */
  remove: (job: IJob) => Promise<boolean>;
  refresh: () => void;
  /** Open the submit form. */
  launch: () => void;
  /** Open the jobs as a table in the main area. */
  openTable: () => void;
  openPath: (path: string, isFolder: boolean) => void;
  /** Open a notebook at one of its cells (by id when given, else 0-based index). */
  openNotebookAt: (
    path: string,
    cellIndex: number,
    cellId?: string | null
  ) => void;
  /** Open a job's log in a main-area tab. */
  openLog: (job: IJob) => void;
  /** Open the launch form on a schedule's spec and times. */
  editSchedule: (schedule: ISchedule) => void;
  /** A schedule's run started with "Run now". */
  runStarted: (job: IJob) => void;
}

/** The panel's tabs. */
export type PanelView = 'jobs' | 'schedules';

export class JobsPanel extends ReactWidget {
  /**
   * @param backends - what each backend can do; the filter also offers the
   *   server's backends once they are fetched.
   */
  constructor(
    readonly model: JobsModel,
    readonly backends: ServerBackends,
    private readonly _actions: IPanelActions
  ) {
    super();
    this.id = 'jupyter-mlp-panel';
    this.addClass('jp-mlp-Panel');
    this.title.icon = mlpIcon;
    this.title.caption = 'ML jobs';
    this.schedules = new SchedulesModel(model.client);
    backends.changed.connect(this._onBackends, this);
    backends.load().catch(() => undefined);
  }

  /** The job shown in detail, or null for the list. */
  get selected(): string | null {
    return this._selected;
  }

  /** The schedules the Schedules tab shows. */
  readonly schedules: SchedulesModel;

  /** Show one job in detail (e.g. right after it was submitted). */
  showJob(id: string | null): void {
    this._selected = id;
    this._view = 'jobs';
    this.update();
  }

  /** Show the jobs or the schedules (fetched again). */
  showView(view: PanelView): void {
    this._view = view;
    if (view === 'schedules') {
      void this.schedules.refresh();
    }
    this.update();
  }

  dispose(): void {
    this.backends.changed.disconnect(this._onBackends, this);
    super.dispose();
  }

  protected render(): JSX.Element {
    return (
      <PanelBody
        model={this.model}
        backends={this.backends}
        actions={this._actions}
        backendNames={this._backendNames}
        selected={this._selected}
        onSelect={id => this.showJob(id)}
        view={this._view}
        onView={view => this.showView(view)}
        schedules={this._schedulesOffered ? this.schedules : null}
      />
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.setVisible(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.setVisible(false);
  }

  private _onBackends(): void {
    this._backendNames = [
      ...new Set([...KNOWN_BACKENDS, ...this.backends.names])
    ];
    this._schedulesOffered = this.backends.names.some(
      name => this.backends.capabilities(name)?.schedules
    );
    this.update();
  }

  private _selected: string | null = null;
  private _view: PanelView = 'jobs';
  private _schedulesOffered = false;
  private _backendNames: string[] = [...KNOWN_BACKENDS];
}

function PanelBody({
  model,
  backends,
  actions,
  backendNames,
  selected,
  onSelect,
  view,
  onView,
  schedules
}: {
  model: JobsModel;
  backends: ServerBackends;
  actions: IPanelActions;
  backendNames: string[];
  selected: string | null;
  onSelect: (id: string | null) => void;
  view: PanelView;
  onView: (view: PanelView) => void;
  /** The schedules, where a backend runs them. */
  schedules: SchedulesModel | null;
}): JSX.Element {
  const [revision, setRevision] = useState(0);
  const [jobsRevision, setJobsRevision] = useState(0);
  const showing = schedules ? view : 'jobs';

  // A run that changed state changes its schedule's strip.
  useEffect(() => {
    if (showing !== 'schedules') {
      return;
    }
    const onJobState = () => setJobsRevision(r => r + 1);
    model.jobStateChanged.connect(onJobState);
    return () => {
      model.jobStateChanged.disconnect(onJobState);
    };
  }, [model, showing]);

  useEffect(() => {
    if (selected === null) {
      return;
    }
    const onJobState = (_: JobsModel, event: { job_id: string }) => {
      if (event.job_id === selected) {
        setRevision(r => r + 1);
      }
    };
    model.jobStateChanged.connect(onJobState);
    return () => {
      model.jobStateChanged.disconnect(onJobState);
    };
  }, [model, selected]);

  const setFilter = useCallback(
    (filter: JobListFilter) => {
      model.filter = filter;
    },
    [model]
  );

  return (
    <div className="jp-mlp-PanelBody">
      <div className="jp-mlp-PanelHeader">
        <h2 className="jp-mlp-PanelHeader-title">ML jobs</h2>
        <IconButton
          icon={addIcon}
          label="Launch a job"
          title="Launch a job"
          onClick={actions.launch}
        />
        <IconButton
          icon={tableRowsIcon}
          label="Open the jobs table"
          title="Open the jobs as a table"
          onClick={actions.openTable}
        />
        <IconButton
          icon={refreshIcon}
          label="Refresh the job list"
          title="Refresh"
          onClick={actions.refresh}
        />
      </div>
      {schedules && (
        <div className="jp-mlp-PanelTabs" role="tablist" aria-label="Show">
          {(['jobs', 'schedules'] as const).map(tab => (
            <button
              key={tab}
              type="button"
              role="tab"
              aria-selected={showing === tab}
              className={`jp-mlp-PanelTab${showing === tab ? ' jp-mod-active' : ''}`}
              onClick={() => onView(tab)}
            >
              {tab === 'jobs' ? 'Jobs' : 'Schedules'}
            </button>
          ))}
        </div>
      )}
      {schedules && showing === 'schedules' ? (
        <SchedulesPane
          model={schedules}
          revision={jobsRevision}
          onOpenJob={onSelect}
          onEdit={actions.editSchedule}
          onRunStarted={actions.runStarted}
          onLaunch={actions.launch}
        />
      ) : (
        <UseSignal signal={model.changed}>
          {() =>
            selected === null ? (
              <>
                <Filters
                  filter={model.filter}
                  backends={backendNames}
                  onChange={setFilter}
                />
                <JobList
                  client={model.client}
                  backends={backends}
                  jobs={model.jobs}
                  loaded={model.loaded}
                  error={model.error}
                  hasMore={model.hasMore}
                  loadingMore={model.loadingMore}
                  filtered={model.filtered}
                  onOpen={job => onSelect(job.id)}
                  onCancel={actions.cancel}
                  onLoadMore={() => void model.loadMore()}
                  onClearFilters={() => setFilter({})}
                  onLaunch={actions.launch}
                />
              </>
            ) : (
              <JobDetail
                client={model.client}
                backends={backends}
                onOpenJob={onSelect}
                jobId={selected}
                listed={model.find(selected)}
                revision={revision}
                onBack={() => onSelect(null)}
                onCancel={actions.cancel}
                onRerun={job =>
                  void actions.rerun(job).then(created => {
                    if (created) {
                      onSelect(created.id);
                    }
                  })
                }
                onRerunWithChanges={actions.rerunWithChanges}
                onDelete={job =>
                  void actions.remove(job).then(deleted => {
                    if (deleted) {
                      onSelect(null);
                    }
                  })
                }
                onOpenPath={actions.openPath}
                onOpenNotebookAt={actions.openNotebookAt}
                onOpenLog={actions.openLog}
              />
            )
          }
        </UseSignal>
      )}
    </div>
  );
}
