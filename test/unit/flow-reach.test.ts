/**
 * Which restricted kinds of data an action asks for by field name, and which the intent
 * mentions (docs/detection.md 3.7).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { intentMentions, reachOf } from '../../services/decision/src/flow/reach.js';

describe('data reach', () => {
  test('fields, columns and select lists that name restricted data', () => {
    assert.deepEqual(
      reachOf({ employee_id: '10482', fields: ['name', 'base_salary', 'sick_days_ytd', 'medical_notes'] }, []),
      { categories: ['compensation', 'health'], fields: ['base_salary', 'sick_days_ytd', 'medical_notes'] },
    );
    assert.deepEqual(reachOf({ columns: 'name, payrollIban' }, []), {
      categories: ['bank_account', 'compensation'],
      fields: ['payrollIban'],
    });
    assert.deepEqual(
      reachOf({}, ["SELECT u.full_name, u.ssn, e.disciplinary_notes FROM users u JOIN e WHERE u.note = 'salary'"]),
      {
        categories: ['contact', 'discipline', 'government_id'],
        fields: ['full_name', 'ssn', 'disciplinary_notes'],
      },
    );
    // Contact details are a category of their own (counted by the drift pack only against a
    // request for numbers); an ordinary aggregate reaches nothing.
    assert.deepEqual(
      reachOf({}, [
        'SELECT w.name, u.email, u.phone, b.billing_address FROM workspaces w JOIN users u ON u.id = w.owner_id',
      ]),
      { categories: ['contact'], fields: ['email', 'phone', 'billing_address'] },
    );
  });

  test('ordinary fields, values and where clauses reach nothing', () => {
    assert.equal(reachOf({ fields: ['name', 'job_title', 'trainings', 'certifications'] }, []), undefined);
    assert.equal(reachOf({ query: 'salary band of the audit team' }, []), undefined);
    assert.equal(reachOf({}, ['SELECT plan, count(*) FROM workspaces WHERE salary > 0 GROUP BY plan']), undefined);
    assert.equal(reachOf({ fields: 'background_color' }, []), undefined);
  });

  test('the intent mentions a category by its words', () => {
    assert.deepEqual(intentMentions("Prepare tomorrow's 1:1 with Jonas: agenda and recent mail"), []);
    assert.deepEqual(intentMentions('Update Jonas’s salary after the raise'), ['compensation']);
    assert.deepEqual(intentMentions('List sick leave days for Q3'), ['health']);
    assert.deepEqual(intentMentions('Check the passport expiry for the Tokyo trip'), ['government_id']);
    assert.deepEqual(intentMentions('Who signed up last week? I need their phone numbers'), ['contact']);
  });
});
